#[test]
fn probe() {
    let t = std::time::Instant::now();
    let k = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    eprintln!("rsa2048 {:?}", t.elapsed());
    drop(k);
}
