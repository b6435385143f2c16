//! `--watch`: reload the cassettes when they change on disk; a broken edit keeps the last good version.

use std::sync::Arc;
use std::time::Duration;

use super::Replayer;
use crate::cassette;
use crate::playback::FileStamp;

/// Polls the cassettes' file stamps every `every` and reloads on change. The first stamps are the ones the
/// library took before reading the files, so an edit made while they were read is seen.
pub fn spawn_watcher(replayer: Arc<Replayer>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let playback = replayer.playback();
        let stamp = || -> Vec<Option<FileStamp>> {
            let paths = cassette::expand_paths(&playback.config().cassettes).unwrap_or_default();
            paths.iter().map(|p| FileStamp::of(p)).collect()
        };
        let mut last = playback.library().stamps().to_vec();
        loop {
            tokio::time::sleep(every).await;
            let now = stamp();
            if now == last {
                continue;
            }
            last = now;
            match playback.reload() {
                Ok(()) => tracing::info!(entries = playback.library().len(), "cassettes reloaded"),
                Err(e) => {
                    tracing::error!("{e:#}; keeping the last good version");
                    eprintln!("snomed-vcr replay: {e:#}; keeping the last good version");
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::ReplayConfig;
    use std::path::PathBuf;

    fn golden(name: &str) -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/cassettes")).join(name)
    }

    #[tokio::test]
    async fn an_edit_between_loading_and_watching_is_picked_up() {
        let dir = crate::scratch::dir("replay-watch-race").unwrap();
        let path = dir.join("c.json");
        std::fs::copy(golden("boto3-walk.json"), &path).unwrap();
        let replayer = Arc::new(Replayer::new(ReplayConfig::new(vec![path.clone()])).unwrap());
        let loaded = replayer.playback().library().len();
        // The edit lands after the load and before the watcher's first look.
        let mut c = cassette::Cassette::load(&path).unwrap();
        c.interactions.truncate(1);
        c.save(&path).unwrap();
        let watcher = spawn_watcher(replayer.clone(), Duration::from_millis(20));
        let mut now = loaded;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            now = replayer.playback().library().len();
            if now != loaded {
                break;
            }
        }
        watcher.abort();
        assert_eq!((loaded > 1, now), (true, 1), "the watcher reloaded the edited cassette");
    }
}
