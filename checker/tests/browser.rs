//! End to end: `mvcheck explore` in a real headless Chromium. The page follows four actions
//! (a client's write reaching its coordinator n1, the coordinator's base write reaching the
//! base replica n0, n0's view-update step, its view write reaching its paired view replica n1) and must show the view
//! row that appears at the view replica, the configuration it serves, the armed timers, and a
//! sequence diagram in protocol words that fits the window.
//! Fails instead of skipping when `CI=true` and Chromium is missing.

use mv_model::{MvModelCfg, Variant};
use stateright::Model;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"].into_iter().find(|b| {
        Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Starts `mvcheck explore` with `flags` on a free port, in an empty folder.
fn start_explorer(flags: &[&str]) -> (Server, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let server = Server(
        Command::new(env!("CARGO_BIN_EXE_mvcheck"))
            .args(["explore", "--addr", &addr])
            .args(flags)
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "explorer did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    (server, addr)
}

/// The page at `url` once its scripts have run, as headless Chromium renders it.
fn dump(browser: &str, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", profile.path().display()),
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn browser_or_skip() -> Option<&'static str> {
    let b = chromium();
    if b.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "Chromium is missing on CI: .ci/run must install it"
        );
        eprintln!("skipping: no chromium on this machine (install Debian's chromium to run this test)");
    }
    b
}

/// The error banner's text, if it is shown.
fn banner(dom: &str) -> Option<String> {
    let start = dom.find("<div id=\"mvcheck-error\"")?;
    let tag_end = start + dom[start..].find('>')?;
    if dom[start..tag_end].contains("hidden") {
        return None;
    }
    let end = tag_end + dom[tag_end..].find("</div>")?;
    Some(dom[tag_end + 1..end].to_string())
}

#[test]
fn explorer_shows_a_view_row_appearing() {
    let Some(browser) = browser_or_skip() else { return };
    let (_server, addr) = start_explorer(&[]);

    // The explorer's deep link is the path's action indices in this model.
    let model = MvModelCfg::for_variant(Variant::Cassandra40).into_model();
    let mut state = model.init_states().remove(0);
    let mut actions = Vec::new();
    // The default ring pairs v=1 with the other node: the fourth step is the remote view write.
    for want in [
        "c0 -> n1 Write w1",
        "n1 -> n0 BaseWrite w1",
        "n0 timer Generate w1",
        "n0 -> n1 ViewWrite",
    ] {
        let mut enabled = Vec::new();
        model.actions(&state, &mut enabled);
        let a = enabled
            .into_iter()
            .find(|a| model.describe(a).starts_with(want))
            .expect(want);
        state = model.next_state(&state, a.clone()).unwrap();
        actions.push(a);
    }
    let encoded = model.replay(&actions).unwrap().encode(&model);
    let url = format!("http://{addr}/#/steps/{encoded}");

    let dom = dump(browser, &url);
    // The state after the fourth action: view replica n1 applied the remote view update.
    assert!(
        dom.contains("view (v=1,k=0) = marker@1 w=1@1 [live w=1]"),
        "rendered page lacks the view row:\n{dom}"
    );
    assert!(
        dom.contains("n1 -&gt; n0 BaseWrite w1") || dom.contains("n1 -> n0 BaseWrite w1"),
        "path not followed:\n{dom}"
    );
    // The page says which model it serves, and lists the armed timers.
    assert!(
        dom.contains("model: variant=cassandra-4.0 nodes=2 rf=1"),
        "no configuration shown:\n{dom}"
    );
    assert!(
        dom.contains("timers = ") && dom.contains("WriteTimeout w1"),
        "no timers shown:\n{dom}"
    );
    // The sequence diagram speaks the protocol's words, never Rust's Debug, and fits a
    // 1,400 px window.
    let svg = &dom[dom.find("<svg").expect("a sequence diagram")..];
    let svg = &svg[..svg.find("</svg>").expect("a whole diagram") + 6];
    for debug in ["{", "Id(", "Set(", "WriteId", "Statement"] {
        assert!(!svg.contains(debug), "diagram holds Rust Debug text {debug:?}:\n{svg}");
    }
    assert!(
        svg.contains("ViewWrite batch=n0#0"),
        "diagram lacks the view write:\n{svg}"
    );
    assert!(
        svg.contains("Write w1 [INSERT k=0 v=1 w=1 @1]"),
        "diagram lacks the client write:\n{svg}"
    );
    let width: usize = svg
        .split("width=\"")
        .nth(1)
        .or_else(|| svg.split("width='").nth(1))
        .and_then(|w| w.split(['"', '\'']).next())
        .and_then(|w| w.parse().ok())
        .expect("the diagram has a width");
    assert!(width <= 1_400, "diagram is {width} px wide");
}

/// A counterexample link from another configuration, and a path that is not one of the served
/// model's, each get a visible error instead of a silent reset. The served model's own link
/// opens without one. The page names the variant it serves and offers no raw Rust Debug view
/// of the state, not even of the initial state.
#[test]
fn explorer_refuses_links_from_another_model_visibly() {
    let Some(browser) = browser_or_skip() else { return };
    let (_server, addr) = start_explorer(&["--variant", "no-partition-lock"]);
    let own = counterexample_link("no-partition-lock", &addr);
    let other = counterexample_link("no-local-batchlog", &addr);

    let dom = dump(browser, &other);
    let text = banner(&dom).unwrap_or_else(|| panic!("no error shown for another model's link:\n{dom}"));
    assert!(text.contains("another model configuration"), "{text}");
    assert!(
        dom.contains("variant=no-partition-lock nodes=2 rf=2"),
        "variant not shown:\n{dom}"
    );
    assert!(!dom.contains("MvModel"), "the page names the Rust type:\n{dom}");
    assert!(!dom.contains("Complete State"), "the raw-state view is offered:\n{dom}");

    let dom = dump(browser, &own);
    assert_eq!(
        banner(&dom),
        None,
        "the served model's own counterexample link was refused:\n{dom}"
    );
    assert!(!dom.contains("ActorModelState"), "raw Debug state shown:\n{dom}");
    // The link ends at the counterexample's last state: two live view rows for one base row.
    assert!(
        dom.contains("[live w=1]") && dom.contains("[live w=2]"),
        "not at the violation:\n{dom}"
    );

    // The right model, but action indices it does not have.
    let (_, query) = own.split_once('?').unwrap();
    let bad = format!("http://{addr}/#/steps/0/97/98?{query}");
    let text = banner(&dump(browser, &bad)).expect("no error shown for a path the model lacks");
    assert!(text.contains("is not a path of the served model"), "{text}");

    // The initial state, too, is shown in protocol words.
    let dom = dump(browser, &format!("http://{addr}/#/steps/0"));
    assert!(!dom.contains("ActorModelState"), "raw Debug initial state:\n{dom}");
    assert!(dom.contains("status = up"), "initial state not rendered:\n{dom}");
}

/// The explorer link `mvcheck check` prints for `variant`'s counterexample, pointed at `addr`.
fn counterexample_link(variant: &str, addr: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mvcheck"))
        .args(["check", "--variant", variant, "--out-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let link = text
        .lines()
        .find_map(|l| l.split("then open ").nth(1))
        .unwrap_or_else(|| panic!("no explorer link for {variant}:\n{text}"));
    link.trim().replace("127.0.0.1:3000", addr)
}
