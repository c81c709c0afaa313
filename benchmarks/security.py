"""Login timing: a missing user must cost as much as a wrong password for a real one.

    python benchmarks/security.py              # scrypt (the default PASSWORD_HASH_METHOD)
    python benchmarks/security.py --repeat 50 --method pbkdf2:sha256:600000

Posts wrong passwords to /auth/login/ through the real app (Flask test client, a fresh
SQLite database, throttling and CSRF off) for an existing user and for a name nobody
has, interleaved, and prints p50/p90 of each and their ratio. Without the dummy-hash
check a missing user answers without hashing at all (the ratio was far below 1).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--method", default="scrypt", help="PASSWORD_HASH_METHOD")
    args = parser.parse_args()

    from config import TestConfig
    from pybo import create_app
    from pybo.auth import service
    from pybo.extensions import db

    workdir = Path(tempfile.mkdtemp(prefix="pybo-security-"))
    config = type(
        "BenchConfig",
        (TestConfig,),
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.db'}",
            "PASSWORD_HASH_METHOD": args.method,
            "UPLOAD_DIR": str(workdir / "upload"),
            "VECTOR_STORE_DIR": str(workdir / "vs"),
            "MODEL_DIR": str(workdir / "models"),
        },
    )
    app = create_app(config)
    with app.app_context():
        db.create_all()
        service.signup("alice", "alice@example.com", "correct-password")
    client = app.test_client()

    def timed(username):
        start = time.perf_counter()
        response = client.post(
            "/auth/login/", data={"username": username, "password": "wrong-password"}
        )
        assert response.status_code == 400, response.status_code
        return (time.perf_counter() - start) * 1000

    timed("alice"), timed("nobody")  # warm-up (templates, dummy hash)
    real, missing = [], []
    for _ in range(args.repeat):
        real.append(timed("alice"))
        missing.append(timed("nobody"))

    def pct(values, q):
        return statistics.quantiles(values, n=10)[q // 10 - 1] if q < 100 else max(values)

    print(f"hash method: {args.method}, {args.repeat} wrong-password logins each")
    print(f"{'user':<10}{'p50 ms':>10}{'p90 ms':>10}")
    for name, values in (("existing", real), ("missing", missing)):
        print(f"{name:<10}{statistics.median(values):>10.1f}{pct(values, 90):>10.1f}")
    print(f"missing / existing p50: {statistics.median(missing) / statistics.median(real):.2f}")


if __name__ == "__main__":
    main()
