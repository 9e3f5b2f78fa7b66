//! argon2id hashing of credential secrets. Hashing and verifying are deliberately slow, so
//! they run on the blocking pool, never on the async executor, and at most `concurrency`
//! at a time so a flood of bad tokens cannot starve everything else.
//!
//! Each run needs `m_cost` KiB of working memory (12 MiB by default), allocated for the run
//! and freed after it. Under glibc's malloc every block stayed behind (after a first `mmap`
//! glibc raised its mmap threshold and served later blocks from per-thread arenas it never
//! trims: 455 MiB after two cache expiries under load). Under jemalloc, the process's
//! allocator (`lib.rs`), anything above its oversize threshold (8 MiB) comes from an arena
//! that caches nothing, so the block goes back to the system when the run ends. Measured in
//! `memory_goes_back_after_each_run`: idle RSS does not carry argon2's memory, and at most
//! `concurrency × m_cost` is resident while runs are in flight.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use argon2::{
    ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::phc::{Output, ParamsString, Salt},
};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::{config::Argon2Params, error::Error};

/// Salt length for new hashes (the PHC recommendation).
const SALT_LEN: usize = 16;
/// Hash length for new hashes (argon2's default).
const OUTPUT_LEN: usize = 32;

pub struct SecretHasher {
    params: Params,
    /// Verified when the presented id is unknown, so an unknown id costs what a wrong secret costs.
    dummy_hash: String,
    permits: Semaphore,
    runs: AtomicU64,
    /// How long the latest verification took, in microseconds.
    latest_run_micros: AtomicU64,
}

impl SecretHasher {
    /// `concurrency` is how many argon2 runs may go on at once (at least one).
    pub fn new(params: Argon2Params, concurrency: usize) -> Result<Arc<Self>, Error> {
        let params = Params::new(params.m_cost, params.t_cost, params.p_cost, None)
            .map_err(|err| anyhow::anyhow!("invalid argon2 parameters: {err}"))?;
        let concurrency = concurrency.max(1);
        let mut hasher = Self {
            params,
            dummy_hash: String::new(),
            permits: Semaphore::new(concurrency),
            runs: AtomicU64::new(0),
            latest_run_micros: AtomicU64::new(0),
        };
        let dummy = super::token::issue(super::token::CredentialKind::ScimToken).secret;
        let started = std::time::Instant::now();
        hasher.dummy_hash = hasher.hash_now(dummy.as_bytes())?;
        hasher.note_run(started);
        Ok(Arc::new(hasher))
    }

    /// How many argon2 runs this hasher has made (hashes and verifications).
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// How long a verification takes, as the latest one did: what a failed
    /// authentication is padded to.
    pub fn typical_run(&self) -> std::time::Duration {
        std::time::Duration::from_micros(self.latest_run_micros.load(Ordering::Relaxed))
    }

    fn note_run(&self, started: std::time::Instant) {
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.latest_run_micros.store(micros, Ordering::Relaxed);
    }

    /// The PHC string of `secret`, salted.
    pub async fn hash(self: &Arc<Self>, secret: String) -> Result<String, Error> {
        let this = Arc::clone(self);
        let _permit = self.permits.acquire().await.map_err(anyhow::Error::from)?;
        tokio::task::spawn_blocking(move || this.hash_now(secret.as_bytes()))
            .await
            .map_err(anyhow::Error::from)?
    }

    /// Whether `secret` matches `phc`; with no stored hash, burns the same time and says no.
    pub async fn verify(self: &Arc<Self>, secret: String, phc: Option<String>) -> bool {
        let this = Arc::clone(self);
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        tokio::task::spawn_blocking(move || {
            let known = phc.is_some();
            let hash = phc.as_deref().unwrap_or(&this.dummy_hash);
            let started = std::time::Instant::now();
            let matches = this.verify_now(secret.as_bytes(), hash);
            this.note_run(started);
            known && matches
        })
        .await
        .unwrap_or(false)
    }

    fn hash_now(&self, secret: &[u8]) -> Result<String, Error> {
        let salt_bytes: [u8; SALT_LEN] = rand::random();
        let failed = |err: &dyn std::fmt::Display| {
            Error::Internal(anyhow::anyhow!("argon2 hashing failed: {err}"))
        };
        let mut out = [0u8; OUTPUT_LEN];
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
        self.run(&argon, secret, &salt_bytes, &mut out)
            .map_err(|err| failed(&err))?;
        let hash = PasswordHash {
            algorithm: ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(|err| failed(&err))?,
            salt: Some(Salt::new(&salt_bytes).map_err(|err| failed(&err))?),
            hash: Some(Output::new(&out).map_err(|err| failed(&err))?),
        };
        Ok(hash.to_string())
    }

    /// Recomputes the hash with the parameters and salt `phc` names and compares in
    /// constant time. Anything unparseable is a mismatch.
    fn verify_now(&self, secret: &[u8], phc: &str) -> bool {
        let Ok(hash) = PasswordHash::new(phc) else {
            return false;
        };
        let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
            Algorithm::try_from(hash.algorithm.as_str()),
            Params::try_from(&hash),
            hash.salt,
            hash.hash,
        ) else {
            return false;
        };
        let version = match hash.version.map(Version::try_from) {
            None => Version::default(),
            Some(Ok(version)) => version,
            Some(Err(_)) => return false,
        };
        let expected = expected.as_bytes();
        let mut out = vec![0u8; expected.len()];
        let argon = Argon2::new(algorithm, version, params);
        if self.run(&argon, secret, salt.as_ref(), &mut out).is_err() {
            return false;
        }
        bool::from(out.ct_eq(expected))
    }

    /// One argon2 run in a block of memory of its own, returned to the system afterwards.
    fn run(
        &self,
        argon: &Argon2<'_>,
        secret: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> argon2::Result<()> {
        self.runs.fetch_add(1, Ordering::Relaxed);
        let needed = argon.params().block_count();
        let mut blocks = vec![Block::new(); needed];
        argon.hash_password_into_with_memory(secret, salt, out, &mut blocks[..])
    }
}

#[cfg(test)]
mod tests {
    use argon2::PasswordVerifier;

    use super::*;

    fn cheap() -> Argon2Params {
        Argon2Params {
            m_cost: 64,
            t_cost: 1,
            p_cost: 1,
        }
    }

    #[tokio::test]
    async fn hashes_are_standard_phc_strings() {
        let hasher = SecretHasher::new(cheap(), 1).unwrap();
        let phc = hasher.hash("s3cret".to_owned()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        // The reference implementation accepts what we produce ...
        let parsed = PasswordHash::new(&phc).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"s3cret", &parsed)
                .is_ok()
        );
        // ... and we accept what it produces, with other parameters than ours.
        let theirs = {
            use argon2::PasswordHasher;
            Argon2::default()
                .hash_password(b"other")
                .unwrap()
                .to_string()
        };
        assert!(
            hasher
                .verify("other".to_owned(), Some(theirs.clone()))
                .await
        );
        assert!(!hasher.verify("wrong".to_owned(), Some(theirs)).await);
        assert!(hasher.verify("s3cret".to_owned(), Some(phc.clone())).await);
        assert!(!hasher.verify("s3cret".to_owned(), None).await);
        assert!(
            !hasher
                .verify("s3cret".to_owned(), Some("$garbage".to_owned()))
                .await
        );
    }

    fn resident_mib() -> f64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .unwrap()
            / 1024.0
    }

    /// With the production cost (12 MiB per run), runs on many blocking threads leave
    /// nothing resident behind them. RSS is per process and the test harness runs other
    /// tests on threads beside this one, so the measurement runs in a child process of
    /// this test binary that runs only this test.
    #[test]
    fn memory_goes_back_after_each_run() {
        const CHILD: &str = "SCIM_HASHER_MEMORY_CHILD";
        if std::env::var_os(CHILD).is_some() {
            return measure_memory_after_runs();
        }
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "auth::hasher::tests::memory_goes_back_after_each_run",
                "--test-threads=1",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{text}");
        assert!(text.contains("1 passed"), "the child ran nothing: {text}");
    }

    fn measure_memory_after_runs() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let hasher = SecretHasher::new(Argon2Params::default(), 2).unwrap();
            let phc = hasher.hash("x".to_owned()).await.unwrap();
            let before = resident_mib();
            for _ in 0..4 {
                let verifications =
                    (0..4).map(|_| hasher.verify("x".to_owned(), Some(phc.clone())));
                for ok in futures_util::future::join_all(verifications).await {
                    assert!(ok);
                }
            }
            let grown = resident_mib() - before;
            let block_mib = f64::from(Argon2Params::default().m_cost) / 1024.0;
            assert!(
                grown < block_mib / 2.0,
                "RSS grew by {grown:.1} MiB over 16 runs of {block_mib} MiB"
            );
            assert_eq!(hasher.runs(), 1 + 1 + 16, "dummy, hash, verifications");
        });
    }
}
