//! Tests of the Topology Manager: every vector of `kubelet.md` §9 under its group name and
//! index (`common_2node[3]` is the fourth line of that group), then construction and options
//! (§3.5) and the scopes (§3.4).

use super::*;

/// `"01:T"` → `{0,1}`, preferred; `"-:F"` → nil, not preferred.
fn h(text: &str) -> TopologyHint {
    let (mask, pref) = text.split_once(':').unwrap_or_else(|| panic!("bad hint {text}"));
    TopologyHint {
        affinity: (mask != "-").then(|| m(mask)),
        preferred: pref == "T",
    }
}

/// `"013"` → `{0,1,3}` (one digit per node).
fn m(text: &str) -> NodeMask {
    let ids: Vec<u32> = text
        .chars()
        .map(|c| c.to_digit(10).unwrap_or_else(|| panic!("bad mask {text}")))
        .collect();
    NodeMask::of(&ids).unwrap()
}

/// A provider: `"{}"` (empty map), or resources `name=hints` separated by spaces, hints being
/// `nil` (a nil list), `[]` (an empty list) or `0:T,01:F`.
fn p(text: &str) -> ProviderHints {
    let mut map = BTreeMap::new();
    if text == "{}" {
        return Some(map);
    }
    for resource in text.split_whitespace() {
        let (name, hints) = resource.split_once('=').unwrap();
        let list = match hints {
            "nil" => None,
            "[]" => Some(Vec::new()),
            _ => Some(hints.split(',').map(h).collect()),
        };
        map.insert(name.to_owned(), list);
    }
    Some(map)
}

fn providers(texts: &[&str]) -> Vec<ProviderHints> {
    texts.iter().map(|t| p(t)).collect()
}

fn numa2() -> NumaInfo {
    NumaInfo {
        nodes: vec![0, 1],
        distances: BTreeMap::new(),
    }
}

fn with_distances(rows: &[&[u32]]) -> NumaInfo {
    let mut distances = BTreeMap::new();
    for (i, row) in (0u32..).zip(rows) {
        for (j, &d) in (0u32..).zip(row.iter()) {
            distances.insert((i, j), d);
        }
    }
    NumaInfo {
        nodes: (0u32..).take(rows.len()).collect(),
        distances,
    }
}

fn numa4() -> NumaInfo {
    with_distances(&[
        &[10, 11, 12, 12],
        &[11, 10, 12, 12],
        &[12, 12, 10, 11],
        &[12, 12, 11, 10],
    ])
}

/// The closest-NUMA machine of §9, row 7 asymmetric as upstream's.
fn numa8() -> NumaInfo {
    with_distances(&[
        &[10, 11, 12, 12, 30, 30, 30, 30],
        &[11, 10, 12, 12, 30, 30, 30, 30],
        &[12, 12, 10, 11, 30, 30, 30, 30],
        &[12, 12, 11, 10, 30, 30, 30, 30],
        &[30, 30, 30, 30, 10, 11, 12, 12],
        &[30, 30, 30, 30, 11, 10, 12, 12],
        &[30, 30, 30, 30, 12, 12, 10, 11],
        &[30, 30, 30, 30, 12, 12, 13, 10],
    ])
}

fn manager(policy: &str, numa: NumaInfo, closest: bool) -> TopologyManager {
    let mut options = BTreeMap::new();
    if closest {
        options.insert(PREFER_CLOSEST_NUMA_NODES.to_owned(), "true".to_owned());
    }
    TopologyManager::new(
        policy,
        "container",
        &options,
        &effective_feature_gates(&BTreeMap::new()),
        numa,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Runs one vector under best-effort (always admitted) and restricted (admitted iff preferred).
fn check_be_and_restricted(id: &str, numa: &NumaInfo, closest: bool, input: &[ProviderHints], want: &str) {
    let want = h(want);
    for policy in ["best-effort", "restricted"] {
        let (got, admit) = manager(policy, numa.clone(), closest).merge(input).unwrap();
        assert_eq!(got, want, "{id} under {policy}");
        let want_admit = policy == "best-effort" || want.preferred;
        assert_eq!(admit, want_admit, "{id} admission under {policy}");
    }
}

const COMMON_2NODE: [(&[&str], &str); 9] = [
    (&["r=0:T", "r=0:T"], "0:T"),
    (&["r=1:T", "r=1:T"], "1:T"),
    (&["{}", "r=0:T"], "0:T"),
    (&["{}", "r=1:T"], "1:T"),
    (&["r=0:T,1:T", "r=0:T"], "0:T"),
    (&["r=0:T,1:T", "r=1:T"], "1:T"),
    (&["r=0:T,1:T", "r=0:T,01:F"], "0:T"),
    (&["r=1:T,01:F", "r=0:T,1:T,01:F"], "1:T"),
    (&["r1=1:T,01:F r2=0:T,1:T,01:F"], "1:T"),
];

#[test]
fn common_2node() {
    for (i, (input, want)) in COMMON_2NODE.iter().enumerate() {
        check_be_and_restricted(
            &format!("common_2node[{i}]"),
            &numa2(),
            false,
            &providers(input),
            want,
        );
    }
}

const BEST_EFFORT_4NODE: [(&[&str], &str); 13] = [
    (&["r=01:T,02:T", "r=01:T,02:T"], "01:T"),
    (&[], "0123:T"),
    (&["{}"], "0123:T"),
    (&["r=nil"], "0123:T"),
    (&["r=[]"], "0123:F"),
    (&["r=-:T"], "0123:T"),
    (&["r=-:F"], "0123:F"),
    (&["r=0:T", "r=1:T"], "0123:F"),
    (&["r=0:T", "r=0:F"], "0:F"),
    (&["r=1:T", "r=1:F"], "1:F"),
    (&["r=0:T", "r=01:T"], "0:F"),
    (&["r=0:T,1:T", "r=01:F"], "0:F"),
    (&["r=1:T", "r=01:T"], "1:F"),
];

#[test]
fn best_effort_4node() {
    for (i, (input, want)) in BEST_EFFORT_4NODE.iter().enumerate() {
        check_be_and_restricted(
            &format!("bestEffort_4node[{i}]"),
            &numa4(),
            false,
            &providers(input),
            want,
        );
    }
}

/// The bestNonPreferredAffinityCount cases: p2, the 4-node answer, the 8-node
/// prefer-closest answer. §9 gives an 8-node variant for the last two only; for the others
/// the same answer as on 4 nodes is assumed (and is what the merge computes).
const BNP_CASES: [(&str, &str, &str); 6] = [
    ("r=01:F", "01:F", "01:F"),
    ("r=03:F", "03:F", "03:F"),
    ("r=12:F", "12:F", "12:F"),
    ("r=23:F", "23:F", "23:F"),
    ("r=12:F,23:F", "12:F", "23:F"),
    ("r=123:F,12:F,13:F,23:F", "12:F", "23:F"),
];

#[test]
fn best_effort_4node_best_non_preferred() {
    for (i, (p2, want, want_closest)) in BNP_CASES.iter().enumerate() {
        let id = format!("bestEffort_4node[{}]", 13 + i);
        let input = providers(&["r=0123:F,01:F", p2]);
        check_be_and_restricted(&id, &numa4(), false, &input, want);
        check_be_and_restricted(
            &format!("{id} closest_8node_variant"),
            &numa8(),
            true,
            &input,
            want_closest,
        );
    }
}

const PREFER_CLOSEST_8NODE: [(&[&str], &str); 2] = [
    (&["r=04:T,02:T", "r=04:T,02:T"], "02:T"),
    (&["r=4:T,02:T", "r=4:T,02:T"], "4:T"),
];

#[test]
fn prefer_closest_8node() {
    for (i, (input, want)) in PREFER_CLOSEST_8NODE.iter().enumerate() {
        check_be_and_restricted(
            &format!("preferClosest_8node[{i}]"),
            &numa8(),
            true,
            &providers(input),
            want,
        );
    }
    // without the option, the narrower-integer rule picks {0,2} for the first case as well
    let (got, _) = manager("best-effort", numa8(), false)
        .merge(&providers(&["r=04:T,02:T", "r=04:T,02:T"]))
        .unwrap();
    assert_eq!(got, h("02:T"));
    let (got, _) = manager("best-effort", numa8(), false)
        .merge(&providers(&["r=04:T,06:T", "r=04:T,06:T"]))
        .unwrap();
    assert_eq!(got, h("04:T"), "narrowest: {{0,4}}=17 < {{0,6}}=65");
    let (got, _) = manager("best-effort", numa8(), true)
        .merge(&providers(&["r=46:T,45:T", "r=46:T,45:T"]))
        .unwrap();
    assert_eq!(got, h("45:T"), "closest: d(4,5)=11 beats d(4,6)=12");
}

const SINGLE_NUMA_NODE_2NODE: [(&[&str], &str); 12] = [
    (&[], "-:T"),
    (&["{}"], "-:T"),
    (&["r=nil"], "-:T"),
    (&["r=-:T"], "-:T"),
    (&["r=[]"], "-:F"),
    (&["r=-:F"], "-:F"),
    (&["r=0:T", "r=1:T"], "-:F"),
    (&["r=0:T", "r=0:F"], "-:F"),
    (&["r=1:T", "r=1:F"], "-:F"),
    (&["r=0:T,1:T", "r=01:F"], "-:F"),
    (&["r1=01:T r2=0:T,1:T,01:F"], "-:F"),
    (&["r=0:T,1:T,01:F", "r=nil"], "0:T"),
];

#[test]
fn single_numa_node_2node() {
    for (i, (input, want)) in SINGLE_NUMA_NODE_2NODE.iter().enumerate() {
        let want = h(want);
        let (got, admit) = manager("single-numa-node", numa2(), false)
            .merge(&providers(input))
            .unwrap();
        assert_eq!(got, want, "singleNumaNode_2node[{i}]");
        assert_eq!(admit, want.preferred, "singleNumaNode_2node[{i}] admission");
    }
    // prefer-closest never applies to single-numa-node
    let (got, _) = manager("single-numa-node", numa8(), true)
        .merge(&providers(&["r=6:T,7:T"]))
        .unwrap();
    assert_eq!(got, h("6:T"));
}

const MAX_OF_MIN_AFFINITY_COUNTS: [(&[&[&str]], u32); 7] = [
    (&[], 0),
    (&[&["-"]], 0),
    (&[&["0"]], 1),
    (&[&["01"]], 2),
    (&[&["01", "012"]], 2),
    (&[&["01", "012"], &["012"]], 3),
    (&[&["01", "012"], &["012", "0123"]], 3),
];

#[test]
fn max_of_min_affinity_counts_vectors() {
    for (i, (lists, want)) in MAX_OF_MIN_AFFINITY_COUNTS.iter().enumerate() {
        let lists: Vec<Vec<TopologyHint>> = lists
            .iter()
            .map(|l| l.iter().map(|mask| h(&format!("{mask}:F"))).collect())
            .collect();
        assert_eq!(
            max_of_min_affinity_counts(&lists),
            *want,
            "maxOfMinAffinityCounts[{i}]"
        );
    }
}

#[test]
fn compare_vectors() {
    let numa = numa2();
    let merger = HintMerger::new(&numa, Vec::new(), false).unwrap();
    let empty_mask = TopologyHint {
        affinity: Some(NodeMask(0)),
        preferred: true,
    };
    // (current, candidate, want candidate?)
    let cases: [(Option<TopologyHint>, TopologyHint, bool); 7] = [
        (Some(h("0:T")), empty_mask, false),
        (None, h("0:T"), true),
        (Some(h("0:F")), h("0:T"), true),
        (Some(h("0:T")), h("0:F"), false),
        (Some(h("0:T")), h("0:T"), false),
        (Some(h("01:T")), h("0:T"), true),
        (Some(h("0:T")), h("01:T"), false),
    ];
    for (i, (current, candidate, want_candidate)) in cases.into_iter().enumerate() {
        let want = if want_candidate { Some(candidate) } else { current };
        assert_eq!(merger.compare(current, candidate).unwrap(), want, "compare[{i}]");
    }
}

#[test]
fn compare_non_preferred_against_best_non_preferred() {
    // BNP = 2 from the lists; exercise every branch of §3.2 step 3.5
    let numa = numa4();
    let merger = HintMerger::new(&numa, vec![vec![h("01:F")]], false).unwrap();
    assert_eq!(merger.best_non_preferred(), 2);
    let pick = |cur: &str, cand: &str| merger.compare(Some(h(cur)), h(cand)).unwrap().unwrap();
    assert_eq!(pick("012:F", "123:F"), h("012:F"), "c > BNP: narrowest (7 < 14)");
    assert_eq!(pick("012:F", "0:F"), h("0:F"), "c > BNP: narrowest by count");
    assert_eq!(pick("12:F", "3:F"), h("12:F"), "c == BNP, k != BNP: keep");
    assert_eq!(pick("12:F", "01:F"), h("01:F"), "c == BNP == k: narrowest");
    assert_eq!(pick("0:F", "012:F"), h("0:F"), "c < BNP, k > BNP: keep");
    assert_eq!(pick("0:F", "23:F"), h("23:F"), "c < BNP, k == BNP: take");
    assert_eq!(pick("3:F", "0:F"), h("0:F"), "c < BNP, k == c: narrowest");
}

#[test]
fn policy_none_neither_merges_nor_refuses() {
    let tm = manager("none", numa2(), false);
    assert_eq!(tm.merge(&providers(&["r=[]"])).unwrap(), (h("-:F"), true));
}

#[test]
fn construction_errors_are_the_kubelets() {
    let gates = effective_feature_gates(&BTreeMap::new());
    let no = BTreeMap::new();
    let err = |policy: &str, scope: &str, opts: &[(&str, &str)], gates: &BTreeSet<String>, nodes: u32| {
        let opts: BTreeMap<String, String> = opts
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let numa = NumaInfo {
            nodes: (0..nodes).collect(),
            distances: BTreeMap::new(),
        };
        TopologyManager::new(policy, scope, &opts, gates, numa)
            .map(|_| ())
            .unwrap_err()
    };
    let e = err("bogus", "container", &[], &gates, 2);
    assert_eq!(e.to_string(), "unknown policy: \"bogus\"");
    assert_eq!(e.reason(), KUBELET_CONFIG_ERROR);
    assert!(!e.is_admission());
    assert_eq!(
        err("restricted", "node", &[], &gates, 2).to_string(),
        "unknown scope: \"node\""
    );
    assert_eq!(
        err("restricted", "container", &[], &gates, 9).to_string(),
        "unsupported on machines with more than 8 NUMA Nodes"
    );
    assert_eq!(
        err(
            "restricted",
            "container",
            &[("max-allowable-numa-nodes", "10")],
            &gates,
            11
        )
        .to_string(),
        "unsupported on machines with more than 10 NUMA Nodes"
    );
    assert!(
        TopologyManager::new(
            "restricted",
            "pod",
            &[("max-allowable-numa-nodes".to_owned(), "16".to_owned())].into(),
            &gates,
            NumaInfo {
                nodes: (0..16).collect(),
                distances: BTreeMap::new()
            }
        )
        .is_ok()
    );
    // policy none is not limited
    assert!(
        TopologyManager::new(
            "none",
            "container",
            &no,
            &gates,
            NumaInfo {
                nodes: (0..12).collect(),
                distances: BTreeMap::new()
            }
        )
        .is_ok()
    );
    assert_eq!(
        err(
            "none",
            "container",
            &[("numa-allocation-strategy", "most")],
            &gates,
            2
        )
        .to_string(),
        "unknown Topology Manager Policy option: \"numa-allocation-strategy\""
    );
    assert_eq!(
        err(
            "best-effort",
            "container",
            &[("prefer-closest-numa-nodes", "yes")],
            &gates,
            2
        )
        .to_string(),
        "bad value for option \"prefer-closest-numa-nodes\": strconv.ParseBool: parsing \"yes\": invalid syntax"
    );
    assert_eq!(
        err(
            "best-effort",
            "container",
            &[("max-allowable-numa-nodes", "x")],
            &gates,
            2
        )
        .to_string(),
        "unable to convert policy option to integer \"max-allowable-numa-nodes\": strconv.Atoi: parsing \"x\": invalid syntax"
    );
    assert_eq!(
        err(
            "best-effort",
            "container",
            &[("max-allowable-numa-nodes", "99999999999999999999")],
            &gates,
            2
        )
        .to_string(),
        "unable to convert policy option to integer \"max-allowable-numa-nodes\": strconv.Atoi: parsing \"99999999999999999999\": value out of range"
    );
    for small in ["7", "-1", "0"] {
        assert_eq!(
            err(
                "best-effort",
                "container",
                &[("max-allowable-numa-nodes", small)],
                &gates,
                2
            )
            .to_string(),
            "the minimum value of \"max-allowable-numa-nodes\" should not be less than 8"
        );
    }
    let beta_off = effective_feature_gates(&[(BETA_OPTIONS_GATE.to_owned(), false)].into());
    assert_eq!(
        err(
            "best-effort",
            "container",
            &[("max-allowable-numa-nodes", "8")],
            &beta_off,
            2
        )
        .to_string(),
        "Topology Manager Policy Beta-level Options not enabled, but option \"max-allowable-numa-nodes\" provided"
    );
    // prefer-closest-numa-nodes is GA: no gate needed
    let tm = TopologyManager::new(
        "best-effort",
        "container",
        &[("prefer-closest-numa-nodes".to_owned(), "1".to_owned())].into(),
        &beta_off,
        numa2(),
    )
    .unwrap();
    assert_eq!(
        tm.options(),
        TopologyManagerOptions {
            prefer_closest_numa_nodes: true,
            max_allowable_numa_nodes: 8
        }
    );
    assert_eq!((tm.policy(), tm.scope()), (Policy::BestEffort, Scope::Container));
    let numa = NumaInfo {
        nodes: vec![0, 64],
        distances: BTreeMap::new(),
    };
    assert_eq!(
        TopologyManager::new("best-effort", "container", &no, &gates, numa)
            .map(|_| ())
            .unwrap_err()
            .to_string(),
        "bit number must be in range 0-63"
    );
}

#[test]
fn go_quoting() {
    assert_eq!(go_quote("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\n\\x01é\"");
}

#[test]
fn numa_info_from_the_built_in_host() {
    let host = crate::topology::examples::example("dual-socket").unwrap_or_else(|e| panic!("{e}"));
    let numa = NumaInfo::from_host(&host);
    assert_eq!(numa.nodes, vec![0, 1]);
    assert_eq!(numa.default_affinity_mask(), Ok(m("01")));
}

/// A provider answering from fixed tables, recording its allocations.
struct Fixed {
    container: Vec<ProviderHints>,
    pod: ProviderHints,
    fail_on: Option<(usize, ProviderError)>,
    allocated: Vec<(usize, TopologyHint)>,
}

impl HintProvider for Fixed {
    fn container_hints(&self, container: usize) -> ProviderHints {
        self.container[container].clone()
    }
    fn pod_hints(&self) -> ProviderHints {
        self.pod.clone()
    }
    fn allocate(&mut self, container: usize, hint: TopologyHint) -> Result<(), ProviderError> {
        if let Some((c, e)) = &self.fail_on
            && *c == container
        {
            return Err(e.clone());
        }
        self.allocated.push((container, hint));
        Ok(())
    }
}

fn fixed(container: &[&str], pod: &str) -> Fixed {
    Fixed {
        container: container.iter().map(|t| p(t)).collect(),
        pod: p(pod),
        fail_on: None,
        allocated: Vec::new(),
    }
}

fn with_scope(policy: &str, scope: &str) -> TopologyManager {
    TopologyManager::new(policy, scope, &BTreeMap::new(), &BTreeSet::new(), numa2()).unwrap()
}

#[test]
fn container_scope_aligns_each_container_on_its_own() {
    let mut cpu = fixed(&["cpu=0:T", "cpu=1:T"], "cpu=01:T");
    let mut mem = fixed(&["memory=0:T,1:T", "memory=1:T"], "memory=01:T");
    let hints = with_scope("restricted", "container")
        .admit(2, &mut [&mut cpu, &mut mem])
        .unwrap();
    assert_eq!(hints, vec![h("0:T"), h("1:T")]);
    assert_eq!(cpu.allocated, vec![(0, h("0:T")), (1, h("1:T"))]);
    assert_eq!(mem.allocated, cpu.allocated);
}

#[test]
fn pod_scope_merges_once_and_shares_the_hint() {
    let mut cpu = fixed(&["cpu=0:T", "cpu=1:T"], "cpu=01:T");
    let mut mem = fixed(&["memory=0:T", "memory=1:T"], "memory=0:F,01:T");
    let hints = with_scope("restricted", "pod")
        .admit(2, &mut [&mut cpu, &mut mem])
        .unwrap();
    assert_eq!(hints, vec![h("01:T"), h("01:T")]);
    assert_eq!(mem.allocated, vec![(0, h("01:T")), (1, h("01:T"))]);
}

#[test]
fn rejections_carry_the_kubelets_reasons() {
    // the second container cannot align: rejected after the first was allocated
    let mut cpu = fixed(&["cpu=0:T", "cpu=0:T"], "{}");
    let mut mem = fixed(&["memory=0:T", "memory=1:T"], "{}");
    let e = with_scope("single-numa-node", "container")
        .admit(2, &mut [&mut cpu, &mut mem])
        .unwrap_err();
    assert_eq!(
        (e.reason(), e.to_string().as_str()),
        (
            "TopologyAffinityError",
            "Resources cannot be allocated with Topology locality"
        )
    );
    assert!(e.is_admission());
    assert_eq!(cpu.allocated, vec![(0, h("0:T"))]);

    // best-effort admits and the failure comes from Allocate
    let mut cpu = fixed(&["cpu=0:T"], "{}");
    cpu.fail_on = Some((
        0,
        ProviderError::Admission {
            reason: "SMTAlignmentError",
            message: "SMT Alignment Error: requested 3 cpus not multiple cpus per core = 2".into(),
        },
    ));
    let e = with_scope("best-effort", "container")
        .admit(1, &mut [&mut cpu])
        .unwrap_err();
    assert_eq!(e.reason(), "SMTAlignmentError");
    assert_eq!(
        e.to_string(),
        "SMT Alignment Error: requested 3 cpus not multiple cpus per core = 2"
    );

    let mut mem = fixed(&["memory=0:T"], "{}");
    mem.fail_on = Some((
        0,
        ProviderError::Other("[memorymanager] failed to find the default preferred hint".into()),
    ));
    let e = with_scope("none", "container")
        .admit(1, &mut [&mut mem])
        .unwrap_err();
    assert_eq!(e.reason(), "UnexpectedAdmissionError");
    assert_eq!(
        e.to_string(),
        "Allocate failed due to [memorymanager] failed to find the default preferred hint, which is unexpected"
    );
}

#[test]
fn policy_none_allocates_without_a_mask() {
    let mut cpu = fixed(&["cpu=[]", "cpu=[]"], "cpu=[]");
    let hints = with_scope("none", "pod").admit(2, &mut [&mut cpu]).unwrap();
    assert_eq!(hints, vec![h("-:F"), h("-:F")]);
    assert_eq!(cpu.allocated, vec![(0, h("-:F")), (1, h("-:F"))]);
}

#[test]
fn prefer_closest_numa_nodes_reads_distance_rows_by_node_id() {
    // nodes 0 and 2, rows as the kernel lists them: one entry per node, in id order
    let numa = NumaInfo {
        nodes: vec![0, 2],
        distances: [((0, 0), 10), ((0, 2), 20), ((2, 0), 20), ((2, 2), 10)].into(),
    };
    assert_eq!(numa.distance(0, 0), Ok(10));
    let panic = numa.distance(2, 2).unwrap_err();
    assert_eq!(panic.panic, "index out of range [2] with length 2");
    assert_eq!(panic.quirk, "kubelet-quirk:closest-numa-noncontiguous-ids");
    for policy in ["best-effort", "restricted"] {
        let err = manager(policy, numa.clone(), true)
            .merge(&providers(&["r=0:T,2:T,02:F"]))
            .unwrap_err();
        assert_eq!(
            err, panic,
            "{policy}: {{0}} and {{2}} compared by average distance"
        );
    }
    let admission = TopologyManagerError::from(panic);
    assert_eq!(admission.reason(), "KubeletPanic");
    assert!(
        admission.is_admission(),
        "the kubelet starts; it dies admitting the pod"
    );
    // without the option, or under single-numa-node, no distance is read
    let (got, _) = manager("best-effort", numa.clone(), false)
        .merge(&providers(&["r=0:T,2:T,02:F"]))
        .unwrap();
    assert_eq!(got, h("0:T"));
    let (got, _) = manager("single-numa-node", numa, true)
        .merge(&providers(&["r=0:T,2:T,02:F"]))
        .unwrap();
    assert_eq!(got, h("0:T"));
}
