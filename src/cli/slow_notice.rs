//! Telling the user why a command is quiet: building the matcher for a library the
//! first time (embedding its phrasings, training its classifier) takes a minute or more.

/// How long building the matcher may take before the user is told why nothing happens.
const SLOW_BUILD_NOTICE: std::time::Duration = std::time::Duration::from_secs(2);

/// Runs `build`. A cached matcher is ready in under a second; the first run over a library
/// (or after it changed) embeds its phrasings and trains the classifier, which takes a
/// minute or more for the built-in one, so past [`SLOW_BUILD_NOTICE`] say so on stderr.
pub fn with_slow_notice<T, E>(build: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    notify_if_slow(SLOW_BUILD_NOTICE, std::io::stderr(), build)
}

/// [`with_slow_notice`] with its delay and output chosen (tests use a buffer): after
/// `delay` one line says what is happening, and once `build` succeeds one line says how
/// long it took. Nothing is written when `build` finishes within `delay`.
fn notify_if_slow<T, E, W: std::io::Write + Send + 'static>(
    delay: std::time::Duration,
    mut out: W,
    build: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    use std::sync::mpsc::{channel, RecvTimeoutError};
    let started = std::time::Instant::now();
    let (done, finished) = channel::<()>();
    let notice = std::thread::spawn(move || {
        let slow = finished.recv_timeout(delay) == Err(RecvTimeoutError::Timeout);
        if slow {
            // Best effort: a closed stderr must not stop the build.
            let _ = writeln!(
                out,
                "preparing the objection matcher: embedding the library's new phrasings and training its \
                 classifier (once per library change; a minute or more for the built-in library)…"
            );
        }
        (slow, out)
    });
    let result = build();
    drop(done);
    if let Ok((true, mut out)) = notice.join() {
        if result.is_ok() {
            let _ = writeln!(out, "matcher ready in {:.0} s (cached for next time)", started.elapsed().as_secs_f64());
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::notify_if_slow;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// A writer the test can read back after the notice thread is done with it.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl Buffer {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().map(|b| b.clone()).unwrap_or_default()).into_owned()
        }
    }

    #[test]
    fn a_quick_build_says_nothing() {
        let out = Buffer::default();
        let r: Result<u8, ()> = notify_if_slow(Duration::from_secs(5), out.clone(), || Ok(7));
        assert_eq!(r, Ok(7));
        assert_eq!(out.text(), "");
    }

    #[test]
    fn a_slow_build_says_what_it_is_doing_and_when_it_is_done() {
        let out = Buffer::default();
        let r: Result<u8, ()> = notify_if_slow(Duration::from_millis(20), out.clone(), || {
            std::thread::sleep(Duration::from_millis(1000));
            Ok(7)
        });
        assert_eq!(r, Ok(7));
        let text = out.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("preparing the objection matcher"), "{text}");
        assert!(lines[1].starts_with("matcher ready in"), "{text}");
    }

    #[test]
    fn a_slow_build_that_fails_does_not_claim_to_be_ready() {
        let out = Buffer::default();
        let r: Result<u8, &str> = notify_if_slow(Duration::from_millis(20), out.clone(), || {
            std::thread::sleep(Duration::from_millis(1000));
            Err("no model")
        });
        assert_eq!(r, Err("no model"));
        let text = out.text();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(!text.contains("ready"), "{text}");
    }
}
