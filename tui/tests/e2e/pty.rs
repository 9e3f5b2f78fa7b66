//! The real `scim-tui` binary in a pseudo-terminal: it draws, takes keys, and leaves the
//! terminal as it found it; without a terminal it refuses to start.

use std::{
    io::{Read, Write},
    sync::mpsc,
    time::{Duration, Instant},
};

use portable_pty::{Child, CommandBuilder, PtySize, native_pty_system};

use crate::harness::Server;

const ROWS: u16 = 24;
const COLS: u16 = 80;

struct Terminal {
    parser: vt100::Parser,
    output: mpsc::Receiver<Vec<u8>>,
    input: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
}

impl Terminal {
    fn spawn(configure: impl FnOnce(&mut CommandBuilder)) -> Self {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_scim-tui"));
        for name in ["SCIM_ADMIN_KEY", "SCIM_ADMIN_KEY_FILE", "SCIM_SERVER_URL"] {
            command.env_remove(name);
        }
        command.env("TERM", "xterm-256color");
        configure(&mut command);
        let child = pair.slave.spawn_command(command).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let input = pair.master.take_writer().unwrap();
        let (tx, output) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        // The master must outlive the child, or the child's terminal closes.
        std::mem::forget(pair.master);
        Self {
            parser: vt100::Parser::new(ROWS, COLS, 0),
            output,
            input,
            child,
        }
    }

    fn screen(&self) -> String {
        self.parser.screen().contents()
    }

    fn read_for(&mut self, wait: Duration) {
        if let Ok(chunk) = self.output.recv_timeout(wait) {
            self.parser.process(&chunk);
        }
    }

    fn wait_for(&mut self, what: &str, shown: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !shown(&self.screen()) {
            assert!(
                Instant::now() < deadline,
                "never showed {what}:\n{}",
                self.screen()
            );
            self.read_for(Duration::from_millis(50));
        }
    }

    fn press(&mut self, keys: &[u8]) {
        self.input.write_all(keys).unwrap();
        self.input.flush().unwrap();
    }

    /// Waits for the program to end, reading what it writes until then.
    fn exit_status(&mut self) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            self.read_for(Duration::from_millis(50));
            if let Some(status) = self.child.try_wait().unwrap() {
                // What it wrote last (the restored screen, a printed URL).
                while let Ok(chunk) = self.output.recv_timeout(Duration::from_millis(200)) {
                    self.parser.process(&chunk);
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "never exited:\n{}",
                self.screen()
            );
        }
    }

    fn assert_restored(&self) {
        let screen = self.parser.screen();
        assert!(!screen.alternate_screen(), "left the alternate screen");
        assert!(!screen.hide_cursor(), "the cursor is shown again");
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        // A test that failed half-way leaves no dashboard running.
        let _ = self.child.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_draws_takes_keys_and_restores_the_terminal() {
    let server = Server::start().await;
    let (tenant, _) = server.tenant_with_token("Acme").await;
    let (url, key_file) = (server.url(), server.key_file());
    let mut terminal = Terminal::spawn(|command| {
        command.env("SCIM_SERVER_URL", &url);
        command.env("SCIM_ADMIN_KEY_FILE", &key_file);
    });
    terminal.wait_for("the tenant list", |s| {
        s.contains("Tenants (1)") && s.contains("Acme")
    });
    assert!(terminal.parser.screen().alternate_screen());
    terminal.press(b"\r");
    terminal.wait_for("the overview", |s| s.contains("SCIM URL"));
    terminal.press(b"p");
    terminal.wait_for("the promise to print", |s| {
        s.contains("printed when you quit")
    });
    terminal.press(b"?");
    terminal.wait_for("the help", |s| s.contains("Overview keys"));
    terminal.press(b"\x1b");
    terminal.wait_for("the help closed", |s| !s.contains("Overview keys"));
    terminal.press(b"q");
    let status = terminal.exit_status();
    assert!(status.success(), "{status:?}");
    terminal.assert_restored();
    let screen = terminal.screen();
    assert!(
        screen.contains(&format!("/scim/{tenant}/v2")),
        "the SCIM URL is printed after the terminal is restored:\n{screen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_explained_and_ctrl_c_quits() {
    let mut terminal = Terminal::spawn(|command| {
        // Port 9 (discard) is closed on a test machine.
        command.env("SCIM_SERVER_URL", "http://127.0.0.1:9");
        command.env("SCIM_ADMIN_KEY", "sadm_0123_notakey");
    });
    terminal.wait_for("the explanation", |s| {
        s.contains("Cannot reach the server at http://127.0.0.1:9")
    });
    let screen = terminal.screen();
    assert!(
        !screen.contains("notakey"),
        "the key is never shown:\n{screen}"
    );
    terminal.press(b"\x03");
    let status = terminal.exit_status();
    assert!(status.success(), "{status:?}");
    terminal.assert_restored();
}

#[test]
fn without_a_terminal_it_says_so_and_fails() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_scim-tui"))
        .env_remove("SCIM_ADMIN_KEY")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("needs a terminal"), "{stderr}");
    assert!(output.stdout.is_empty(), "nothing drawn into a pipe");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn started_before_its_key_exists_it_connects_once_the_key_is_written() {
    let server = Server::start().await;
    server.tenant_with_token("Acme").await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("operator.key");
    let (url, file) = (server.url(), key_file.clone());
    let mut terminal = Terminal::spawn(|command| {
        command.env("SCIM_SERVER_URL", &url);
        command.env("SCIM_ADMIN_KEY_FILE", &file);
    });
    terminal.wait_for("the missing key explained", |s| {
        s.contains("No admin key") && s.contains("Trying again by itself")
    });
    // What a server's first start does.
    std::fs::copy(server.key_file(), &key_file).unwrap();
    terminal.wait_for("the tenant list, without a key press", |s| {
        s.contains("Tenants (1)") && s.contains("Acme")
    });
    terminal.press(b"q");
    assert!(terminal.exit_status().success());
    terminal.assert_restored();
}
