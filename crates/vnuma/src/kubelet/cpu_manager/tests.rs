//! The `policy_static_test.go`, `policy_options_test.go` and `topology_hints_test.go` vectors of
//! `kubelet.md` §7 and §8, one table per upstream test, names kept.

use super::*;
use crate::kubelet::fixtures::*;

fn set(list: &str) -> CpuSet {
    CpuSet::parse_list(list).unwrap_or_else(|e| panic!("{list:?}: {e}"))
}

fn mask(nodes: &[u32]) -> NodeMask {
    NodeMask::of(nodes).unwrap_or_else(|e| panic!("{e}"))
}

/// Both option gates on, as the upstream tests run.
fn all_gates() -> BTreeSet<String> {
    [ALPHA_OPTIONS_GATE, BETA_OPTIONS_GATE]
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn option_map(options: &[(&str, &str)]) -> BTreeMap<String, String> {
    options
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn options(topo: &CpuTopology, opts: &[(&str, &str)]) -> CpuManagerOptions {
    CpuManagerOptions::parse(&option_map(opts), &all_gates(), topo).unwrap_or_else(|e| panic!("{e}"))
}

/// `NewStaticPolicy(topo, numReserved, reservedList, options)`.
fn policy(topo: CpuTopology, num_reserved: usize, reserved: &str, opts: &[(&str, &str)]) -> StaticPolicy {
    let o = options(&topo, opts);
    StaticPolicy::new(topo, num_reserved, &set(reserved), o).unwrap_or_else(|e| panic!("{e}"))
}

const GIB: i64 = 1 << 30;

/// A Guaranteed container of `cpus` whole CPUs.
fn container(name: &str, cpus: i64) -> ContainerSpec {
    ContainerSpec::guaranteed(name, cpus * 1000, GIB)
}

/// A pod with one app container of `cpus` whole CPUs.
fn single(cpus: i64) -> PodSpec {
    PodSpec {
        uid: "fakePod".into(),
        init_containers: vec![],
        containers: vec![container("fakeContainer", cpus)],
    }
}

fn state(default: &str) -> PolicyState {
    PolicyState {
        default_cpuset: set(default),
        ..PolicyState::default()
    }
}

fn state_with(default: &str, assigned: &[(&str, &str, &str)]) -> PolicyState {
    let mut s = state(default);
    for &(pod, container, cpus) in assigned {
        s.assignments
            .entry(pod.to_string())
            .or_default()
            .insert(container.to_string(), set(cpus));
    }
    s
}

// ---------------------------------------------------------------- §7.1 Start / validateState

#[test]
fn start() {
    type Case = (
        usize,
        &'static [(&'static str, &'static str, &'static str)],
        &'static str,
        bool,
        Result<&'static str, &'static str>,
    );
    let cases: &[Case] = &[
        (0, &[("fakePod", "0", "0")], "1-11", false, Ok("1-11")),
        (1, &[], "", false, Ok("0-11")),
        (
            2,
            &[],
            "0-1",
            false,
            Err(r#"not all reserved cpus: "0,6" are present in defaultCpuSet: "0-1""#),
        ),
        (
            2,
            &[],
            "0-1",
            true,
            Err(r#"some of strictly reserved cpus: "0" are present in defaultCpuSet: "0-1""#),
        ),
        (
            0,
            &[("fakePod", "0", "0-2")],
            "2-11",
            false,
            Err(r#"pod: fakePod, container: 0 cpuset: "0-2" overlaps with default cpuset "2-11""#),
        ),
        (
            0,
            &[("fakePod", "0", "0-2")],
            "2-11",
            true,
            Err(r#"pod: fakePod, container: 0 cpuset: "0-2" overlaps with default cpuset "2-11""#),
        ),
        (
            0,
            &[("fakePod", "0", "0-2"), ("fakePod", "1", "3-4")],
            "5-12",
            false,
            Err(r#"current set of available CPUs "0-11" doesn't match with CPUs in state "0-12""#),
        ),
        (
            0,
            &[("fakePod", "0", "0-2"), ("fakePod", "1", "3-4")],
            "5-10",
            false,
            Err(r#"current set of available CPUs "0-11" doesn't match with CPUs in state "0-10""#),
        ),
    ];
    for (i, &(num_reserved, assigned, default, strict, want)) in cases.iter().enumerate() {
        let opts: &[(&str, &str)] = if strict {
            &[(STRICT_CPU_RESERVATION, "true")]
        } else {
            &[]
        };
        let p = policy(topo_dual_socket_ht(), num_reserved, "", opts);
        let mut s = state_with(default, assigned);
        let got = p
            .start(&mut s)
            .map(|()| s.default_cpuset.to_string())
            .map_err(|e| e.to_string());
        assert_eq!(
            got,
            want.map(str::to_string).map_err(str::to_string),
            "start case {i}"
        );
    }
}

#[test]
fn start_with_reserved_list() {
    let cases: &[(&str, bool, Result<&str, &str>)] = &[
        ("", false, Ok("0-11")),
        ("", true, Ok("2-11")),
        (
            "2-5",
            false,
            Err(r#"not all reserved cpus: "0-1" are present in defaultCpuSet: "2-5""#),
        ),
        (
            "0-5",
            true,
            Err(r#"some of strictly reserved cpus: "0-1" are present in defaultCpuSet: "0-5""#),
        ),
    ];
    for &(default, strict, want) in cases {
        let opts: &[(&str, &str)] = if strict {
            &[(STRICT_CPU_RESERVATION, "true")]
        } else {
            &[]
        };
        let p = policy(topo_dual_socket_ht(), 2, "0-1", opts);
        let mut s = state(default);
        let got = p
            .start(&mut s)
            .map(|()| s.default_cpuset.to_string())
            .map_err(|e| e.to_string());
        assert_eq!(
            got,
            want.map(str::to_string).map_err(str::to_string),
            "default {default:?} strict {strict}"
        );
    }
    // at construction
    let err = StaticPolicy::new(
        topo_dual_socket_ht(),
        1,
        &set("0-1"),
        CpuManagerOptions::default(),
    );
    assert_eq!(
        err.map(|_| ()).map_err(|e| e.to_string()),
        Err(
            "[cpumanager] unable to reserve the required amount of CPUs (size of 0-1 did not equal 1)"
                .to_string()
        )
    );
}

#[test]
fn reserved_selection() {
    // §7 preamble: numReserved 1 gives {0}; topoDualSocketHT with 2 gives {0,6}
    for topo in [
        topo_single_socket_ht(),
        topo_dual_socket_ht(),
        topo_dual_socket_no_ht(),
        topo_dual_socket_multi_numa_per_socket_ht(),
        topo_quad_socket_four_way_ht(),
    ] {
        assert_eq!(policy(topo, 1, "", &[]).reserved(), &set("0"));
    }
    let p = policy(topo_dual_socket_ht(), 2, "", &[]);
    assert_eq!((p.reserved(), p.reserved_physical()), (&set("0,6"), &set("0,6")));
    let p = policy(topo_dual_socket_ht(), 2, "1,6", &[]);
    assert_eq!(p.reserved_physical(), &set("0-1,6-7"));
    // §12.6: the configured options choose the reserved CPUs too (spread over NUMA nodes)
    let p = policy(topo_dual_socket_multi_numa_per_socket_ht(), 24, "", &[]);
    assert_eq!(p.reserved(), &set("0-11,40-51"));
    let p = policy(
        topo_dual_socket_multi_numa_per_socket_ht(),
        24,
        "",
        &[(DISTRIBUTE_CPUS_ACROSS_NUMA, "true")],
    );
    assert_eq!(p.reserved(), &set("0-5,10-15,40-45,50-55"));
    // a reserved CPU the machine lacks
    let err = StaticPolicy::new(
        topo_single_socket_ht(),
        1,
        &set("9"),
        CpuManagerOptions::default(),
    );
    assert_eq!(
        err.map(|_| ()).map_err(|e| e.to_string()),
        Err("[cpumanager] unable to build the reserved physical CPUs from the reserved set: unknown CPU ID: 9".to_string())
    );
}

#[test]
fn num_reserved_from_the_kubelet_configuration() {
    assert_eq!(num_reserved_cpus(Some(1000), &CpuSet::new()), Ok(1));
    assert_eq!(num_reserved_cpus(Some(1500), &CpuSet::new()), Ok(2));
    assert_eq!(num_reserved_cpus(Some(100), &CpuSet::new()), Ok(1));
    assert_eq!(num_reserved_cpus(Some(0), &set("0-1")), Ok(2));
    assert_eq!(
        num_reserved_cpus(Some(0), &CpuSet::new()).map_err(|e| e.to_string()),
        Err("[cpumanager] the static policy requires systemreserved.cpu + kubereserved.cpu to be greater than zero".to_string())
    );
    assert_eq!(
        num_reserved_cpus(None, &CpuSet::new()).map_err(|e| e.to_string()),
        Err("[cpumanager] unable to determine reserved CPU resources for static policy".to_string())
    );
}

// ---------------------------------------------------------------- §7.2–§7.7 Allocate

/// One Allocate vector: build the policy, set the default cpuset, allocate one container of a
/// Guaranteed pod; check the container's CPUs and the default cpuset after (= default − them).
/// The spec's `assigned` (other containers' CPUs) only matters through `default`, so it is not
/// put in the state.
struct Alloc {
    topo: CpuTopology,
    num_reserved: usize,
    reserved: &'static str,
    default: CpuSet,
    pod: PodSpec,
    existing: Option<&'static str>,
    affinity: Option<NodeMask>,
    want: Result<Option<CpuSet>, &'static str>,
}

fn alloc(
    topo: CpuTopology,
    num_reserved: usize,
    default: &str,
    req: i64,
    want: Result<&str, &'static str>,
) -> Alloc {
    Alloc {
        topo,
        num_reserved,
        reserved: "",
        default: set(default),
        pod: single(req),
        existing: None,
        affinity: None,
        want: want.map(|w| Some(set(w))),
    }
}

fn run_alloc(label: &str, case: &Alloc, opts: &[(&str, &str)]) {
    let p = policy(case.topo.clone(), case.num_reserved, case.reserved, opts);
    let mut s = PolicyState {
        default_cpuset: case.default.clone(),
        ..PolicyState::default()
    };
    let c = &case.pod.containers[0];
    if let Some(existing) = case.existing {
        s.assignments
            .entry(case.pod.uid.clone())
            .or_default()
            .insert(c.name.clone(), set(existing));
    }
    let got = p.allocate_container(&mut s, &case.pod, c, case.affinity);
    match &case.want {
        Ok(want) => {
            assert_eq!(got, Ok(()), "{label}");
            let cpus = s.cpuset(&case.pod.uid, &c.name).cloned();
            assert_eq!(&cpus, want, "{label}: container cpuset");
            let allocated = if case.existing.is_some() {
                CpuSet::new()
            } else {
                cpus.unwrap_or_default()
            };
            assert_eq!(
                s.default_cpuset,
                case.default.difference(&allocated),
                "{label}: default after"
            );
        }
        Err(message) => {
            assert_eq!(
                got.map_err(|e| e.to_string()),
                Err(message.to_string()),
                "{label}"
            );
            assert_eq!(s.default_cpuset, case.default, "{label}: default untouched");
        }
    }
}

fn quad_socket(socket: u32) -> CpuSet {
    topo_quad_socket_four_way_ht().details.cpus_in_sockets(&[socket])
}

#[test]
fn allocate_option_insensitive() {
    let quad_all = topo_quad_socket_four_way_ht().all_cpus();
    let mut burstable = single(1);
    burstable.containers[0]
        .resources
        .limits
        .insert("cpu".into(), 2000);
    let mut fractional = single(1);
    fractional.containers[0]
        .resources
        .requests
        .insert("cpu".into(), 977);
    fractional.containers[0]
        .resources
        .limits
        .insert("cpu".into(), 977);
    let cases = vec![
        alloc(topo_single_socket_ht(), 1, "0-1,4-5", 2, Ok("1,5")),
        alloc(topo_dual_socket_ht(), 1, "0-1,3-11", 6, Ok("1,3,5,7,9,11")),
        alloc(topo_dual_socket_ht(), 1, "0,2-4,6-11", 6, Ok("2-4,8-10")),
        alloc(topo_dual_socket_no_ht(), 1, "0-1,3-7", 4, Ok("4-7")),
        alloc(topo_dual_socket_no_ht(), 1, "0-1,3,6-7", 4, Ok("1,3,6-7")),
        alloc(topo_dual_socket_ht(), 1, "0-1,3-11", 8, Ok("1,3-5,7,9-11")),
        Alloc {
            pod: burstable,
            want: Ok(None),
            ..alloc(topo_single_socket_ht(), 1, "0-7", 1, Ok(""))
        },
        Alloc {
            pod: fractional,
            want: Ok(None),
            ..alloc(topo_single_socket_ht(), 1, "0-7", 1, Ok(""))
        },
        Alloc {
            default: quad_all.difference(&set("3-7,11")),
            want: Ok(Some(quad_socket(0))),
            ..alloc(topo_quad_socket_four_way_ht(), 0, "", 72, Ok(""))
        },
        alloc(
            topo_quad_socket_four_way_ht(),
            0,
            "1-2,9,11-13,23,25,35,38,48,51,53-54,61,113,173,233",
            12,
            Ok("1,11,13,23,25,35,38,48,53,113,173,233"),
        ),
        Alloc {
            default: quad_socket(1).union(&set("10,22,34,47,53,61,108,115,173,181,228,235")),
            want: Ok(Some(quad_socket(1).union(&set("10,22,34,47")))),
            ..alloc(topo_quad_socket_four_way_ht(), 0, "", 76, Ok(""))
        },
    ];
    for (i, case) in cases.iter().enumerate() {
        run_alloc(&format!("allocateOptionInsensitive {i} (no options)"), case, &[]);
        run_alloc(
            &format!("allocateOptionInsensitive {i} (full-pcpus-only)"),
            case,
            &[(FULL_PCPUS_ONLY, "true")],
        );
    }
}

#[test]
fn allocate_default() {
    let cases = [
        alloc(topo_single_socket_ht(), 1, "0-7", 1, Ok("4")),
        alloc(
            topo_quad_socket_four_way_ht(),
            0,
            "10-11,52-53,67",
            5,
            Ok("10-11,52-53,67"),
        ),
        alloc(
            topo_single_socket_ht(),
            1,
            "0-7",
            8,
            Err("not enough cpus available to satisfy request: requested=8, available=7"),
        ),
        Alloc {
            existing: Some("2-3,6-7"),
            ..alloc(topo_single_socket_ht(), 1, "0-1,4-5", 4, Ok("2-3,6-7"))
        },
        alloc(
            topo_dual_socket_ht(),
            1,
            "0,4-11",
            10,
            Err("not enough cpus available to satisfy request: requested=10, available=8"),
        ),
        alloc(
            topo_single_socket_ht(),
            1,
            "0,7",
            2,
            Err("not enough cpus available to satisfy request: requested=2, available=1"),
        ),
        alloc(
            topo_quad_socket_four_way_ht(),
            0,
            "10-11,37,52-53,55,67",
            76,
            Err("not enough cpus available to satisfy request: requested=76, available=7"),
        ),
    ];
    for (i, case) in cases.iter().enumerate() {
        run_alloc(&format!("allocateDefault {i}"), case, &[]);
    }
}

#[test]
fn smt_align() {
    let cases = [
        alloc(
            topo_single_socket_ht(),
            1,
            "0-7",
            1,
            Err("SMT Alignment Error: requested 1 cpus not multiple cpus per core = 2"),
        ),
        alloc(
            topo_quad_socket_four_way_ht(),
            8,
            "0-287",
            15,
            Err("SMT Alignment Error: requested 15 cpus not multiple cpus per core = 4"),
        ),
        Alloc {
            reserved: "1,6",
            ..alloc(
                topo_dual_socket_ht(),
                2,
                "0,2-5,7-11",
                10,
                Err(
                    "SMT Alignment Error: not enough free physical CPUs: available physical CPUs = 8, requested CPUs = 10, CPUs per core = 2",
                ),
            )
        },
        alloc(topo_dual_socket_ht(), 2, "1-5,7-11", 10, Ok("1-5,7-11")),
        Alloc {
            reserved: "0,6",
            ..alloc(topo_dual_socket_ht(), 2, "1-5,7-11", 10, Ok("1-5,7-11"))
        },
    ];
    for (i, case) in cases.iter().enumerate() {
        run_alloc(&format!("smtAlign {i}"), case, &[(FULL_PCPUS_ONLY, "true")]);
    }
    // the reason the pod is rejected with
    let p = policy(topo_single_socket_ht(), 1, "", &[(FULL_PCPUS_ONLY, "true")]);
    let err = p.allocate(&CpuSet::new(), 1, None).err();
    assert_eq!(
        err.as_ref().map(CpuManagerError::reason),
        Some("SMTAlignmentError")
    );
    let p = policy(topo_single_socket_ht(), 1, "", &[]);
    let err = p.allocate(&CpuSet::new(), 8, None).err();
    assert_eq!(
        err.as_ref().map(CpuManagerError::reason),
        Some("UnexpectedAdmissionError")
    );
    assert_eq!(
        err.map(|e| e.admission_message()),
        Some(
            "Allocate failed due to not enough cpus available to satisfy request: requested=8, available=7, which is unexpected"
                .to_string()
        )
    );
}

#[test]
fn smt_error_text() {
    let cases = [
        (
            15,
            4,
            0,
            false,
            "SMT Alignment Error: requested 15 cpus not multiple cpus per core = 4",
        ),
        (
            4,
            2,
            0,
            false,
            "SMT Alignment Error: requested 4 cpus not multiple cpus per core = 2",
        ),
        (
            4,
            2,
            0,
            true,
            "SMT Alignment Error: not enough free physical CPUs: available physical CPUs = 0, requested CPUs = 4, CPUs per core = 2",
        ),
    ];
    for (requested, cpus_per_core, available_physical, caused_by_physical, want) in cases {
        let e = SmtAlignmentError {
            requested,
            cpus_per_core,
            available_physical,
            caused_by_physical,
        };
        assert_eq!(e.to_string(), want);
        assert_eq!(CpuManagerError::from(e).to_string(), want);
    }
}

#[test]
fn align_by_socket() {
    for (on, want) in [("true", "2,11"), ("false", "2,21")] {
        let case = Alloc {
            affinity: Some(mask(&[0, 2])),
            ..alloc(
                topo_dual_socket_multi_numa_per_socket_ht(),
                1,
                "2,11,21-22",
                2,
                Ok(want),
            )
        };
        run_alloc(&format!("alignBySocket {on}"), &case, &[(ALIGN_BY_SOCKET, on)]);
    }
}

#[test]
fn allocate_cpus_with_mask() {
    let cases: &[(usize, Option<&[u32]>, &str)] = &[
        (2, None, "0,6"),
        (2, Some(&[0]), "0,6"),
        (2, Some(&[1]), "1,7"),
        (8, Some(&[0]), "0-2,4,6-8,10"),
        (8, Some(&[1]), "0-1,3,5-7,9,11"),
    ];
    let p = policy(topo_dual_socket_ht(), 0, "", &[]);
    for &(req, nodes, want) in cases {
        let affinity = nodes.map(mask);
        let mut s = state("0-11");
        let got = p.allocate_cpus(&mut s, req, affinity, &CpuSet::new());
        assert_eq!(
            got,
            Ok(set(want)),
            "allocateCPUsWithMask req {req} mask {nodes:?}"
        );
        assert_eq!(s.default_cpuset, set("0-11").difference(&set(want)));
        // the stateless entry point agrees
        assert_eq!(p.allocate(&CpuSet::new(), req, affinity), Ok(set(want)));
    }
}

#[test]
fn allocate_with_reserved_list() {
    let cases = [
        Alloc {
            reserved: "0",
            ..alloc(
                topo_single_socket_ht(),
                1,
                "0-7",
                8,
                Err("not enough cpus available to satisfy request: requested=8, available=7"),
            )
        },
        Alloc {
            reserved: "0-1",
            ..alloc(topo_single_socket_ht(), 2, "0-7", 1, Ok("4"))
        },
        Alloc {
            reserved: "0-1",
            ..alloc(topo_single_socket_ht(), 2, "0-1,4-5", 2, Ok("4-5"))
        },
    ];
    for (i, case) in cases.iter().enumerate() {
        run_alloc(&format!("allocateWithReservedList {i}"), case, &[]);
    }
}

// ---------------------------------------------------------------- §7.8 reuse and removal

#[test]
fn reuse() {
    let p = policy(topo_single_socket_ht(), 0, "", &[]);
    let pod = PodSpec {
        uid: "fakePod".into(),
        init_containers: vec![container("initContainer-0", 4)],
        containers: vec![container("appContainer-0", 2)],
    };
    let mut s = p.initial_state();
    p.allocate_container(&mut s, &pod, &pod.init_containers[0], None)
        .unwrap_or_else(|e| panic!("{e}"));
    p.allocate_container(&mut s, &pod, &pod.containers[0], None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.cpuset("fakePod", "initContainer-0"), Some(&set("0-1,4-5")));
    assert_eq!(
        s.cpuset("fakePod", "appContainer-0"),
        Some(&set("0,4")),
        "reused from init"
    );
    assert_eq!(s.default_cpuset, set("2-3,6-7"));
    p.remove_container(&mut s, "fakePod", "initContainer-0");
    assert_eq!(
        s.default_cpuset,
        set("1-3,5-7"),
        "init's CPUs minus those the app holds"
    );
}

#[test]
fn do_not_reuse_sidecar() {
    let p = policy(topo_single_socket_ht(), 0, "", &[]);
    let mut sidecar = container("initContainer-0", 4);
    sidecar.restartable = true;
    let pod = PodSpec {
        uid: "fakePod".into(),
        init_containers: vec![sidecar],
        containers: vec![container("appContainer-0", 2)],
    };
    let mut s = p.initial_state();
    for c in pod.init_containers.iter().chain(&pod.containers) {
        p.allocate_container(&mut s, &pod, c, None)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(s.cpuset("fakePod", "initContainer-0"), Some(&set("0-1,4-5")));
    assert_eq!(s.cpuset("fakePod", "appContainer-0"), Some(&set("2,6")));
    assert_eq!(s.default_cpuset, set("3,7"));
}

#[test]
fn remove() {
    type Case = (
        &'static [(&'static str, &'static str)],
        &'static str,
        &'static str,
        &'static str,
    );
    let cases: &[Case] = &[
        (&[("c1", "1-3")], "4-7", "c1", "1-7"),
        (&[("c1", "1-3"), ("c2", "4-7")], "", "c1", "1-3"),
        (&[("c1", "1,3,5"), ("c2", "2,4")], "6-7", "c1", "1,3,5-7"),
        (&[("c1", "1,3,5")], "2,4,6-7", "c2", "2,4,6-7"),
    ];
    let p = policy(topo_single_socket_ht(), 0, "", &[]);
    for &(assigned, default, removed, want) in cases {
        let assigned: Vec<(&str, &str, &str)> = assigned.iter().map(|&(c, s)| ("fakePod", c, s)).collect();
        let mut s = state_with(default, &assigned);
        p.remove_container(&mut s, "fakePod", removed);
        assert_eq!(s.default_cpuset, set(want), "remove {removed} from {assigned:?}");
        assert!(s.cpuset("fakePod", removed).is_none());
    }
}

// ---------------------------------------------------------------- §7.9 uncore alignment

#[test]
fn uncore_alignment() {
    enum Want {
        Uncores(&'static [u32]),
        Cpus(&'static str),
        Both(&'static str, &'static [u32]),
    }
    /// How the default cpuset is made from every CPU: minus these uncores, minus these CPUs.
    type Case = (
        CpuTopology,
        &'static str,
        &'static [u32],
        &'static str,
        &'static [i64],
        Want,
    );
    let dual = topo_dual_socket_single_numa_per_socket_smt_uncore;
    let dual_reserved = "0-1,96-97,192-193,288-289";
    let cases: Vec<Case> = vec![
        (dual(), dual_reserved, &[0, 12], "", &[16], Want::Uncores(&[1])),
        (dual(), dual_reserved, &[0, 12], "", &[12, 2], Want::Uncores(&[1])),
        (dual(), dual_reserved, &[0, 12], "", &[2, 12], Want::Uncores(&[1])),
        (
            dual(),
            dual_reserved,
            &[0, 12],
            "",
            &[10, 2, 2, 2],
            Want::Uncores(&[1]),
        ),
        (dual(), dual_reserved, &[], "", &[12, 2], Want::Uncores(&[0, 1])),
        (
            topo_single_socket_single_numa_per_socket_smt_small_uncore(),
            "0-1,64-65",
            &[],
            "",
            &[8],
            Want::Uncores(&[1]),
        ),
        (
            topo_single_socket_single_numa_per_socket_smt_small_uncore(),
            "0-1,64-65",
            &[1],
            "",
            &[12],
            Want::Uncores(&[0, 2]),
        ),
        (
            topo_single_socket_single_numa_per_socket_no_smt_small_uncore(),
            "0-3",
            &[2, 3, 5],
            "",
            &[12],
            Want::Uncores(&[1, 4, 6]),
        ),
        (
            topo_small_dual_socket_single_numa_per_socket_no_smt_uncore(),
            "0-1,32-33",
            &[1],
            "",
            &[4, 2],
            Want::Uncores(&[0]),
        ),
        (
            topo_small_dual_socket_single_numa_per_socket_no_smt_uncore(),
            "0-1,32-33",
            &[1],
            "",
            &[4, 4],
            Want::Uncores(&[0, 2]),
        ),
        (
            topo_large_single_socket_single_numa_per_socket_smt_uncore(),
            "0-1,128-129",
            &[],
            "8-9,136-137",
            &[12, 12],
            Want::Uncores(&[0, 1]),
        ),
        (
            topo_large_single_socket_single_numa_per_socket_smt_uncore(),
            "0-1,128-129",
            &[],
            "8-9,136-137",
            &[14, 14],
            Want::Uncores(&[2, 3]),
        ),
        (
            topo_dual_socket_multi_numa_per_socket_uncore(),
            "0-3",
            &[],
            "",
            &[48],
            Want::Uncores(&[6, 7, 8, 9, 10, 11]),
        ),
        (
            topo_dual_socket_sub_numa_per_socket_ht_monolithic_uncore(),
            "0-1,120-121",
            &[],
            "",
            &[6],
            Want::Both("2-4,122-124", &[0]),
        ),
        (
            topo_single_socket_single_numa_per_socket_pcore_ht_monolithic_uncore(),
            "0-1",
            &[],
            "4-7",
            &[6],
            Want::Cpus("2-3,8-9,16-17"),
        ),
        (
            topo_large_single_socket_single_numa_per_socket_uncore(),
            "0-3",
            &[],
            "",
            &[8],
            Want::Uncores(&[1]),
        ),
        (
            topo_single_socket_single_numa_per_socket_uncore(),
            "0-1",
            &[],
            "6-9,12-15,18-19",
            &[12],
            Want::Cpus("2-5,10-11,16-17,20-23"),
        ),
        // the fixture was not retrieved from upstream: assumed 32 CPUs, no SMT, 8 per uncore
        (
            topo_small_single_socket_single_numa_per_socket_no_smt_uncore(),
            "0-3",
            &[],
            "8-11,16-19,24-27",
            &[8],
            Want::Uncores(&[0, 1]),
        ),
    ];
    for (i, (topo, reserved, minus_uncores, minus_cpus, reqs, want)) in cases.into_iter().enumerate() {
        let reserved = set(reserved);
        let default = topo
            .all_cpus()
            .difference(&topo.details.cpus_in_uncore_caches(minus_uncores))
            .difference(&set(minus_cpus))
            .difference(&reserved);
        let details = topo.details.clone();
        let o = options(
            &topo,
            &[
                (FULL_PCPUS_ONLY, "true"),
                (PREFER_ALIGN_CPUS_BY_UNCORECACHE, "true"),
            ],
        );
        let p = StaticPolicy::new(topo, reserved.len(), &reserved, o).unwrap_or_else(|e| panic!("{e}"));
        let pod = PodSpec {
            uid: "fakePod".into(),
            init_containers: vec![],
            containers: reqs
                .iter()
                .enumerate()
                .map(|(j, &n)| container(&format!("c{j}"), n))
                .collect(),
        };
        let mut s = PolicyState {
            default_cpuset: default,
            ..PolicyState::default()
        };
        for c in &pod.containers {
            p.allocate_container(&mut s, &pod, c, None)
                .unwrap_or_else(|e| panic!("uncoreAlignment {i}: {e}"));
        }
        let all = s.assigned();
        let uncores: Vec<u32> = all
            .iter()
            .filter_map(|c| details.get(&c.0).map(|d| d.uncore))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        match want {
            Want::Uncores(u) => assert_eq!(uncores, u, "uncoreAlignment {i}: uncores of {all}"),
            Want::Cpus(c) => assert_eq!(all, set(c), "uncoreAlignment {i}"),
            Want::Both(c, u) => {
                assert_eq!(all, set(c), "uncoreAlignment {i}");
                assert_eq!(uncores, u, "uncoreAlignment {i}");
            }
        }
    }
}

// ---------------------------------------------------------------- §7.10 options

#[test]
fn options_parse() {
    let topo = topo_dual_socket_ht();
    let parse = |opts: &[(&str, &str)], gates: &BTreeSet<String>| {
        CpuManagerOptions::parse(&option_map(opts), gates, &topo).map_err(|e| e.to_string())
    };
    let gates = all_gates();
    // input null and {}: both an empty map here
    assert_eq!(parse(&[], &gates), Ok(CpuManagerOptions::default()));
    assert_eq!(
        parse(&[("badValue1", "")], &gates),
        Err(r#"unknown CPU Manager Policy option: "badValue1""#.into())
    );
    assert_eq!(
        parse(&[(FULL_PCPUS_ONLY, "true")], &gates),
        Ok(CpuManagerOptions {
            full_pcpus_only: true,
            ..CpuManagerOptions::default()
        })
    );
    assert_eq!(
        parse(&[(FULL_PCPUS_ONLY, "enabled!")], &gates),
        Err(r#"bad value for option "full-pcpus-only": strconv.ParseBool: parsing "enabled!": invalid syntax"#.into())
    );
    assert_eq!(
        parse(&[(FULL_PCPUS_ONLY, "1"), ("badValue2", "")], &gates),
        Err(r#"unknown CPU Manager Policy option: "badValue2""#.into())
    );
    // every ParseBool spelling
    for (v, on) in [
        ("1", true),
        ("t", true),
        ("T", true),
        ("TRUE", true),
        ("True", true),
        ("0", false),
        ("F", false),
        ("False", false),
    ] {
        assert_eq!(
            parse(&[(FULL_PCPUS_ONLY, v)], &gates).map(|o| o.full_pcpus_only),
            Ok(on),
            "{v}"
        );
    }
    assert_eq!(
        parse(&[(FULL_PCPUS_ONLY, "yes\n")], &gates),
        Err(
            r#"bad value for option "full-pcpus-only": strconv.ParseBool: parsing "yes\n": invalid syntax"#
                .into()
        )
    );
}

#[test]
fn options_need_their_gates() {
    let topo = topo_dual_socket_multi_numa_per_socket_ht();
    let none = BTreeSet::new();
    let beta_only = default_feature_gates();
    for option in [ALIGN_BY_SOCKET, DISTRIBUTE_CPUS_ACROSS_CORES] {
        let got = CpuManagerOptions::parse(&option_map(&[(option, "true")]), &beta_only, &topo);
        assert_eq!(
            got.map_err(|e| e.to_string()),
            Err(format!(
                "CPU Manager Policy Alpha-level Options not enabled, but option \"{option}\" provided"
            ))
        );
    }
    for option in [
        DISTRIBUTE_CPUS_ACROSS_NUMA,
        STRICT_CPU_RESERVATION,
        PREFER_ALIGN_CPUS_BY_UNCORECACHE,
    ] {
        let got = CpuManagerOptions::parse(&option_map(&[(option, "true")]), &none, &topo);
        assert_eq!(
            got.map_err(|e| e.to_string()),
            Err(format!(
                "CPU Manager Policy Beta-level Options not enabled, but option \"{option}\" provided"
            ))
        );
        assert!(CpuManagerOptions::parse(&option_map(&[(option, "true")]), &beta_only, &topo).is_ok());
    }
    // full-pcpus-only is GA
    assert!(CpuManagerOptions::parse(&option_map(&[(FULL_PCPUS_ONLY, "true")]), &none, &topo).is_ok());
}

#[test]
fn options_that_cannot_be_combined() {
    let topo = topo_dual_socket_multi_numa_per_socket_ht();
    let pairs = [
        (FULL_PCPUS_ONLY, DISTRIBUTE_CPUS_ACROSS_CORES),
        (DISTRIBUTE_CPUS_ACROSS_NUMA, DISTRIBUTE_CPUS_ACROSS_CORES),
        (PREFER_ALIGN_CPUS_BY_UNCORECACHE, DISTRIBUTE_CPUS_ACROSS_CORES),
        (PREFER_ALIGN_CPUS_BY_UNCORECACHE, DISTRIBUTE_CPUS_ACROSS_NUMA),
    ];
    for (a, b) in pairs {
        // the input order does not matter: the check fixes it
        for opts in [[(a, "true"), (b, "true")], [(b, "true"), (a, "true")]] {
            let got = CpuManagerOptions::parse(&option_map(&opts), &all_gates(), &topo);
            assert_eq!(
                got.map_err(|e| e.to_string()),
                Err(format!(
                    "static policy options {a} and {b} can not be used at the same time"
                ))
            );
        }
    }
}

#[test]
fn align_by_socket_validation() {
    let on = option_map(&[(ALIGN_BY_SOCKET, "true")]);
    let topo = topo_dual_socket_multi_numa_per_socket_ht();
    let got =
        CpuManagerOptions::parse_with_topology_manager(&on, &all_gates(), &topo, Some("single-numa-node"));
    assert_eq!(
        got.map_err(|e| e.to_string()),
        Err("Topolgy manager single-numa-node policy is incompatible with CPUManager align-by-socket policy option".into())
    );
    assert!(
        CpuManagerOptions::parse_with_topology_manager(&on, &all_gates(), &topo, Some("restricted")).is_ok()
    );
    let got = CpuManagerOptions::parse(
        &on,
        &all_gates(),
        &fake_topo_multi_socket_dual_socket_per_numa_ht(),
    );
    assert_eq!(
        got.map_err(|e| e.to_string()),
        Err("Align by socket is not compatible with hardware where number of sockets are more than number of NUMA".into())
    );
}

#[test]
fn go_quoting() {
    assert_eq!(
        go_quote("a\"b\\c\t\u{0}\u{7f}é\u{a0}"),
        r#""a\"b\\c\t\x00\x7fé\u00a0""#
    );
}

// ---------------------------------------------------------------- §8 hints

#[test]
fn pod_guaranteed_cpus_vectors() {
    enum C {
        Init(i64),
        Sidecar(i64),
    }
    use C::{Init, Sidecar};
    let cases: Vec<(Vec<C>, Vec<i64>, usize)> = vec![
        (vec![Init(0)], vec![0], 0),
        (vec![Init(0)], vec![2], 0),
        (vec![Init(2)], vec![0], 0),
        (vec![Init(2)], vec![2], 2),
        (vec![Init(5)], vec![5], 5),
        (vec![Init(2)], vec![5], 5),
        (vec![Init(5)], vec![2], 5),
        (vec![Init(2), Init(4)], vec![2, 4], 6),
        (vec![Sidecar(1)], vec![1], 2),
        (vec![Init(5), Sidecar(1), Sidecar(2), Sidecar(3)], vec![1], 7),
        (
            vec![Init(5), Sidecar(1), Sidecar(2), Init(5), Sidecar(3)],
            vec![1],
            8,
        ),
        (vec![Sidecar(10), Init(200)], vec![100], 210),
    ];
    for (i, (init, app, want)) in cases.into_iter().enumerate() {
        let pod = PodSpec {
            uid: "pod".into(),
            init_containers: init
                .iter()
                .enumerate()
                .map(|(j, c)| match *c {
                    Init(n) => container(&format!("init-{j}"), n),
                    Sidecar(n) => ContainerSpec {
                        restartable: true,
                        ..container(&format!("init-{j}"), n)
                    },
                })
                .collect(),
            containers: app
                .iter()
                .enumerate()
                .map(|(j, &n)| container(&format!("app-{j}"), n))
                .collect(),
        };
        assert_eq!(pod_guaranteed_cpus(&pod), want, "podGuaranteedCPUs {i}");
    }
}

#[test]
fn qos_classes() {
    let mut pod = single(2);
    assert_eq!(pod.qos(), QosClass::Guaranteed);
    pod.containers[0].resources.requests.remove("cpu");
    assert_eq!(
        pod.qos(),
        QosClass::Guaranteed,
        "a limit alone defaults the request"
    );
    pod.containers[0].resources.limits.remove("memory");
    assert_eq!(pod.qos(), QosClass::Burstable);
    assert_eq!(PodSpec::default().qos(), QosClass::BestEffort);
}

/// `"[0,1] T"` → the hint.
fn hint(text: &str) -> TopologyHint {
    let (nodes, pref) = text.split_once(' ').unwrap_or_else(|| panic!("{text}"));
    let nodes: Vec<u32> = nodes
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|n| n.parse().unwrap_or_else(|e| panic!("{text}: {e}")))
        .collect();
    TopologyHint {
        affinity: Some(mask(&nodes)),
        preferred: pref == "T",
    }
}

#[test]
fn cpu_hints() {
    let p = policy(hints_machine_12(), 0, "", &[]);
    // (request, default, allocated to the container, want)
    let cases: &[(i64, &str, Option<&str>, &[&str])] = &[
        (2, "2-11", None, &["[0] T", "[1] T", "[0,1] F"]),
        (5, "2-11", None, &["[1] T", "[0,1] F"]),
        (7, "2-11", None, &["[0,1] T"]),
        (11, "2-11", None, &[]),
        (2, "0,3", None, &["[0,1] F"]),
        (5, "0-3", None, &[]),
        (2, "", Some("0,6"), &["[0] T", "[0,1] F"]),
        (2, "", Some("3,9"), &["[1] T", "[0,1] F"]),
        (11, "", Some("0-10"), &["[0,1] T"]),
        (2, "", Some("0,3,6,9"), &[]),
        (11, "", Some("0,3,6,9"), &[]),
    ];
    for &(req, default, allocated, want) in cases {
        let pod = single(req);
        let c = &pod.containers[0];
        let mut s = state(default);
        if let Some(a) = allocated {
            s.default_cpuset = p.all_cpus().difference(&set(a));
            s.assignments
                .entry(pod.uid.clone())
                .or_default()
                .insert(c.name.clone(), set(a));
        }
        let want: Vec<TopologyHint> = want.iter().map(|h| hint(h)).collect();
        assert_eq!(
            p.container_topology_hints(&s, &pod, c),
            Some(want.clone()),
            "cpuHints req {req} default {default:?} allocated {allocated:?}"
        );
        // pod scope gives the same for a one-container pod
        assert_eq!(
            p.pod_topology_hints(&s, &pod),
            Some(want.clone()),
            "pod scope, req {req}"
        );
        if allocated.is_none() {
            assert_eq!(
                p.hints(
                    &p.all_cpus().difference(&set(default)),
                    usize::try_from(req).unwrap_or(0)
                ),
                Some(want)
            );
        }
    }
    // no exclusive CPUs: no preference
    let mut burstable = single(2);
    burstable.containers[0]
        .resources
        .limits
        .insert("cpu".into(), 4000);
    assert_eq!(
        p.container_topology_hints(&state("0-11"), &burstable, &burstable.containers[0]),
        None
    );
    assert_eq!(p.pod_topology_hints(&state("0-11"), &burstable), None);
    assert_eq!(p.hints(&CpuSet::new(), 0), None);
}

#[test]
fn cpu_hints_align_by_socket() {
    let cases: &[(i64, &str, &str, &[&str])] = &[
        (
            2,
            "2-3,11",
            "false",
            &[
                "[0] T",
                "[0,1] F",
                "[0,2] F",
                "[0,3] F",
                "[0,1,2] F",
                "[0,1,3] F",
                "[0,2,3] F",
                "[0,1,2,3] F",
            ],
        ),
        (
            2,
            "2-3,11",
            "true",
            &[
                "[0] T",
                "[0,1] T",
                "[0,2] F",
                "[0,3] F",
                "[0,1,2] F",
                "[0,1,3] F",
                "[0,2,3] F",
                "[0,1,2,3] F",
            ],
        ),
        (41, "0-28,40-57", "true", &["[0,1,2] T", "[0,1,2,3] T"]),
    ];
    for &(req, default, on, want) in cases {
        let p = policy(
            topo_dual_socket_multi_numa_per_socket_ht(),
            0,
            "",
            &[(ALIGN_BY_SOCKET, on)],
        );
        let pod = single(req);
        let want: Vec<TopologyHint> = want.iter().map(|h| hint(h)).collect();
        assert_eq!(
            p.container_topology_hints(&state(default), &pod, &pod.containers[0]),
            Some(want),
            "cpuHintsAlignBySocket req {req} default {default} align-by-socket {on}"
        );
    }
}

#[test]
fn hints_skip_masks_without_the_reusable_cpus() {
    // an init container's CPUs on NUMA 0 are reusable: only masks holding NUMA 0 remain
    let p = policy(hints_machine_12(), 0, "", &[]);
    let pod = PodSpec {
        uid: "fakePod".into(),
        init_containers: vec![container("init", 2)],
        containers: vec![container("app", 2)],
    };
    let mut s = p.initial_state();
    p.allocate_container(&mut s, &pod, &pod.init_containers[0], None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.cpuset("fakePod", "init"), Some(&set("0,6")));
    assert_eq!(
        p.container_topology_hints(&s, &pod, &pod.containers[0]),
        Some(vec![hint("[0] T"), hint("[0,1] F")])
    );
}
