//! Protocols compiled into the binary: a name -> the parsed [`Protocol`].
//!
//! Each is a TOML file in `builtin/`, included with `include_str!` and parsed with
//! [`parse`](super::file::parse) like any user file (a unit test checks every one parses).

use super::file::{parse, Protocol};

/// `(name, TOML text)` of every built-in protocol.
const BUILTIN: [(&str, &str); 1] = [("NCT06863584", include_str!("builtin/nct06863584.toml"))];

/// The names of the built-in protocols, for `--protocol NAME` and help texts.
pub fn builtin_names() -> &'static [&'static str] {
    &["NCT06863584"]
}

/// The built-in protocol called `name` (ASCII case-insensitive), or `None`.
pub fn builtin(name: &str) -> Option<Protocol> {
    let (key, text) = BUILTIN
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name.trim()))?;
    let origin = format!("builtin:{key}");
    // The built-in texts are constants checked by `every_builtin_parses` below.
    Some(parse(text, &origin).expect("built-in protocols are valid"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::file::{Level, LimitSpec};
    use crate::protocol::query::{Comparator, Limit, Query};

    fn nct() -> Protocol {
        builtin("NCT06863584").unwrap()
    }

    #[test]
    fn every_builtin_parses_and_names_agree() {
        assert_eq!(builtin_names().len(), BUILTIN.len());
        for (name, (key, text)) in builtin_names().iter().zip(BUILTIN) {
            assert_eq!(name, &key);
            let p = parse(text, name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(&p.name, name);
        }
        assert!(builtin("nct06863584").is_some());
        assert!(builtin("RTOG0813").is_none());
    }

    #[test]
    fn nct06863584_prescriptions() {
        let p = nct();
        let ptv = p.prescription("PTV").unwrap();
        assert_eq!((ptv.total_gy, ptv.fractions), (30.0, 5));
        assert_eq!(ptv.names, vec!["PTV_3000", "PTV_Low", "PTV_30Gy"]);
        let pgtv = p.prescription("PGTV").unwrap();
        assert_eq!((pgtv.total_gy, pgtv.fractions), (35.0, 5));
        assert_eq!(pgtv.names, vec!["PTV_3500", "PTV_High", "PTV_35Gy"]);
        assert!(p.description.contains("TG-101") && p.description.contains("HyTEC"));
        assert!(p.description.contains("unpublished"));
    }

    #[test]
    fn nct06863584_cord_is_hytec_mandatory_with_tg101_volume_rows_beside_it() {
        let p = nct();
        let cord: Vec<_> = p
            .constraints
            .iter()
            .filter(|c| c.structure == "SpinalCord")
            .collect();
        let hytec = cord
            .iter()
            .find(|c| c.limit == LimitSpec::Fixed(Limit::Gy(25.3)))
            .unwrap();
        assert_eq!(hytec.query, Query::DoseCc(0.035));
        assert_eq!(hytec.comparator, Comparator::Le);
        assert_eq!(hytec.level, Level::Mandatory);
        assert!(hytec.source.contains("Sahgal"));
        let tg101: Vec<String> = cord
            .iter()
            .filter(|c| c.source.contains("TG-101"))
            .map(|c| format!("{} {} {:?}", c.query, c.comparator, c.limit))
            .collect();
        assert_eq!(
            tg101,
            vec!["V23Gy < Fixed(Cc(0.35))", "V14.5Gy < Fixed(Cc(1.2))"]
        );
        // One maximum for the cord: TG-101's Dmax 30 Gy could never decide beside 25.3 Gy.
        assert_eq!(cord.iter().filter(|c| c.query == hytec.query).count(), 1);
        assert_eq!(p.names_of("SpinalCord").unwrap()[1], "Cord");
        assert_eq!(p.alpha_beta_gy("SpinalCord"), Some(2.0));
    }

    #[test]
    fn nct06863584_every_constraint_is_sourced_and_every_structure_used() {
        let p = nct();
        assert!(p.constraints.len() > 80);
        for c in &p.constraints {
            assert!(!c.source.trim().is_empty(), "line {}", c.line);
            assert!(c.fractions.is_none(), "all limits are 5-fraction limits");
        }
        // Organs without a limit are there for the sites to name (expected nearby organs).
        let unlimited: Vec<&str> = p
            .structures
            .iter()
            .filter(|s| !p.constraints.iter().any(|c| c.structure == s.name))
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(
            unlimited,
            [
                "Kidney_L",
                "Kidney_R",
                "Bladder",
                "Lens_L",
                "Lens_R",
                "Parotid_L",
                "Parotid_R",
                "Larynx",
                "Bone_Mandible"
            ]
        );
    }

    /// The ROI names of common practice and of Chinese planning systems that must find
    /// their organ, and names that must not.
    #[test]
    fn nct06863584_clinical_and_chinese_names() {
        use crate::protocol::names::{match_structure, Match, RoiName};
        let p = nct();
        let found = |roi: &str| -> Vec<String> {
            let rois = [RoiName {
                number: 1,
                name: roi,
            }];
            p.structures
                .iter()
                .filter(|s| {
                    let names = p.names_of(&s.name).unwrap();
                    match_structure(&names, &rois, &[], &s.name).unwrap() != Match::NotPresent
                })
                .map(|s| s.name.clone())
                .collect()
        };
        for (roi, organ) in [
            ("Myelon", "SpinalCord"),
            ("SC", "SpinalCord"),
            ("Spinal_Cord", "SpinalCord"),
            ("Medulla Spinalis", "SpinalCord"),
            ("脊髓", "SpinalCord"),
            ("马尾", "CaudaEquina"),
            ("骶丛", "SacralPlex"),
            ("左臂丛", "BrachialPlex_L"),
            ("右臂丛神经", "BrachialPlex_R"),
            ("脑干", "Brainstem"),
            ("左视神经", "OpticNrv_L"),
            ("右侧视神经", "OpticNrv_R"),
            ("视交叉", "OpticChiasm"),
            ("左耳蜗", "Cochlea_L"),
            ("食管", "Esophagus"),
            ("心脏", "Heart"),
            ("气管", "Trachea"),
            ("肺", "Lungs"),
            ("双肺", "Lungs"),
            ("肝脏", "Liver"),
            ("右肾", "Kidney_R"),
            ("胃", "Stomach"),
            ("十二指肠", "Duodenum"),
            ("小肠", "Bowel_Small"),
            ("结肠", "Colon"),
            ("直肠", "Rectum"),
            ("膀胱", "Bladder"),
            ("左股骨头", "Femur_Head_L"),
            ("肋骨", "Rib"),
            ("皮肤", "Skin"),
            ("右晶体", "Lens_R"),
            ("左腮腺", "Parotid_L"),
            ("喉", "Larynx"),
            ("下颌骨", "Bone_Mandible"),
        ] {
            assert_eq!(found(roi), [organ], "{roi}");
        }
        // Never a guess: a whole organ without its side, another organ, a PRV.
        for roi in [
            "肾",
            "视神经",
            "左肺",
            "Medulla",
            "SpinalCanal",
            "脊髓_PRV05",
            "zSC",
        ] {
            assert!(found(roi).is_empty(), "{roi}: {:?}", found(roi));
        }
    }

    #[test]
    fn nct06863584_target_metrics() {
        let p = nct();
        let coverage = |role: &str| {
            p.constraints
                .iter()
                .find(|c| c.structure == role && c.query == Query::VolumeAtRxPercent(100.0))
                .unwrap()
        };
        for role in ["PTV", "PGTV"] {
            let c = coverage(role);
            assert_eq!(c.limit, LimitSpec::Fixed(Limit::PercentVolume(95.0)));
            assert_eq!(
                c.acceptable,
                Some(LimitSpec::Fixed(Limit::PercentVolume(90.0)))
            );
            assert_eq!(c.level, Level::Mandatory);
        }
        // The RTOG two-level tables are one constraint each: no deviation and minor.
        for q in [Query::CiRtog, Query::R50, Query::D2cm] {
            assert_eq!(p.constraints.iter().filter(|c| c.query == q).count(), 1);
        }
        let r50 = p
            .constraints
            .iter()
            .find(|c| c.query == Query::R50)
            .unwrap();
        assert_eq!(r50.level, Level::Optimal);
        assert_eq!(r50.limit.at(Some(1.8)), Some(Limit::Number(5.9)));
        assert_eq!(r50.limit.at(Some(163.0)), Some(Limit::Number(2.9)));
        assert_eq!(r50.limit.at(Some(200.0)), None);
        let r50_minor = r50.acceptable.as_ref().unwrap();
        assert_eq!(r50_minor.at(Some(1.8)), Some(Limit::Number(7.5)));
        let d2cm = p
            .constraints
            .iter()
            .find(|c| c.query == Query::D2cm)
            .unwrap();
        assert_eq!(d2cm.limit.at(Some(50.0)), Some(Limit::PercentRx(62.0)));
        assert_eq!(
            d2cm.acceptable.as_ref().unwrap().at(Some(50.0)),
            Some(Limit::PercentRx(77.0))
        );
        // The carotid rows (HyTEC re-irradiation data): optimal, head and neck only.
        for c in p
            .constraints
            .iter()
            .filter(|c| c.structure.starts_with("A_Carotid"))
        {
            assert_eq!(c.level, Level::Optimal);
            assert_eq!(c.sites, ["head_neck"]);
        }
        // No invented thresholds for indices the reference gives none for.
        assert!(!p
            .constraints
            .iter()
            .any(|c| matches!(c.query, Query::Hi | Query::CiPaddick | Query::Gi)));
    }
}
