"""Board latency at scale: seed N questions and time the list, search and sort pages.

    python benchmarks/board.py                 # 100,000 questions on SQLite
    python benchmarks/board.py -n 20000 --repeat 50
    DATABASE_URL=postgresql+psycopg://... python benchmarks/board.py --db-url "$DATABASE_URL"

Seeds Korean questions (~3 answers and a few votes each, ~30% of the answered ones
with an accepted answer, i.e. 해결됨) into a fresh database
(benchmarks/out/board.db by default; reused when it already holds N questions), then
prints p50/p95 of requests made through the real app (Flask test client, no network),
beside a bare Flask route measured in the same run.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = (
    "은행 금리 대출 예금 적금 주식 펀드 보험 연금 세금 부동산 아파트 전세 월세 계약 "
    "플라스크 파이썬 장고 데이터베이스 서버 배포 오류 설치 설정 함수 변수 클래스 모듈 "
    "질문 답변 방법 문제 해결 이유 경우 사용 확인 결과 시간 사람 학교 회사 정부 시장 "
    "경제 사회 문화 역사 과학 기술 컴퓨터 인터넷 프로그램 개발 테스트 코드 검색 페이지"
).split()
PARTICLES = ["", "은", "는", "이", "가", "을", "를", "에", "에서", "의", "으로", "와", "도"]
ENDINGS = ["입니다.", "인가요?", "했어요.", "하나요?", "합니다.", "궁금합니다."]


def sentence(rng, n):
    words = [rng.choice(WORDS) + rng.choice(PARTICLES) for _ in range(n)]
    return " ".join(words) + " " + rng.choice(ENDINGS)


def seed(app, n, rng):
    from sqlalchemy import insert

    from pybo.extensions import db
    from pybo.models import Answer, Question, User, answer_voter, question_voter
    from pybo.question import search

    with app.app_context():
        db.drop_all()
        db.create_all()
        users = [
            {"id": i, "username": f"user{i}", "email": f"user{i}@example.com", "password": "x",
             "is_admin": False, "create_date": datetime(2024, 1, 1)}
            for i in range(1, 1001)
        ]  # fmt: skip
        start = datetime(2020, 1, 1)
        with db.engine.begin() as conn:
            conn.execute(insert(User), users)
            answer_id = 0
            for base in range(0, n, 5000):
                questions, answers, qvotes, avotes = [], [], [], []
                for qid in range(base + 1, min(base + 5000, n) + 1):
                    n_answers = rng.choice((1, 2, 3, 3, 4, 5)) if rng.random() > 0.1 else 0
                    voters = rng.sample(range(1, 1001), rng.choice((0, 0, 1, 2, 3, 5)))
                    created = start + timedelta(minutes=qid * 3)
                    accepted = rng.randrange(n_answers) if n_answers and rng.random() < 0.3 else -1
                    questions.append({
                        "id": qid, "subject": sentence(rng, rng.randint(2, 5))[:200],
                        "content": " ".join(sentence(rng, rng.randint(4, 10)) for _ in range(3)),
                        "create_date": created, "user_id": rng.randint(1, 1000),
                        "view_count": rng.randint(0, 500), "answer_count": n_answers,
                        "vote_count": len(voters), "resolved": accepted >= 0,
                    })  # fmt: skip
                    qvotes += [{"user_id": u, "question_id": qid} for u in voters]
                    for number in range(n_answers):
                        answer_id += 1
                        votes = rng.sample(range(1, 1001), rng.choice((0, 0, 0, 1, 2)))
                        answers.append({
                            "id": answer_id, "question_id": qid,
                            "content": sentence(rng, rng.randint(5, 12)),
                            "create_date": created + timedelta(minutes=1),
                            "user_id": rng.randint(1, 1000), "vote_count": len(votes),
                            "accepted": number == accepted,
                        })  # fmt: skip
                        avotes += [{"user_id": u, "answer_id": answer_id} for u in votes]
                conn.execute(insert(Question), questions)
                conn.execute(insert(Answer), answers)
                if qvotes:
                    conn.execute(insert(question_voter), qvotes)
                if avotes:
                    conn.execute(insert(answer_voter), avotes)
            search.rebuild(conn)
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("ANALYZE")
        return answer_id


def timed(client, url, repeat):
    client.get(url)  # warm caches and templates
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return statistics.median(samples), p95


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--questions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--db-url", default=None, help="default: SQLite under benchmarks/out/")
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()

    from config import TestConfig
    from pybo import create_app
    from pybo.extensions import db
    from pybo.models import Question

    out = ROOT / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    url = args.db_url or f"sqlite:///{out / 'board.db'}"
    config = type("BenchConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url, "TESTING": False})
    app = create_app(config)
    rng = random.Random(42)
    with app.app_context():
        try:
            have = db.session.query(Question).count()
        except Exception:  # noqa: BLE001 - empty database: seed it
            db.session.rollback()
            have = -1
    if have != args.questions or args.reseed:
        t0 = time.perf_counter()
        answers = seed(app, args.questions, rng)
        print(f"seeded {args.questions:,} questions, {answers:,} answers in "
              f"{time.perf_counter() - t0:.1f} s ({url.split(':')[0]})")  # fmt: skip

    @app.route("/bench/bare")
    def bare():
        return "ok"

    client = app.test_client()
    deep = max(1, args.questions // 10 // 2)
    cases = [
        ("bare Flask route", "/bench/bare"),
        ("list page 1", "/question/list/"),
        (f"list page {deep:,}", f"/question/list/?page={deep}"),
        ("sort: most votes", "/question/list/?so=recommend"),
        ("sort: most answers", "/question/list/?so=popular"),
        ("search: 은행 (common word)", "/question/list/?kw=은행"),
        ("search: 은행에서 (word + particle)", "/question/list/?kw=은행에서"),
        ("search: 플라스크 배포 (two words)", "/question/list/?kw=플라스크+배포"),
        ("search: user123 (author)", "/question/list/?kw=user123"),
        ("search, page 50", "/question/list/?kw=은행&page=50"),
        ("search 은행 + sort by votes", "/question/list/?kw=은행&so=recommend"),
        ("search 플라스크 + sort by answers", "/question/list/?kw=플라스크&so=popular"),
        ("filter: 미해결 (status=open)", "/question/list/?status=open"),
        ("filter: 해결됨 (status=resolved)", "/question/list/?status=resolved"),
        (f"해결됨, page {deep // 4:,}", f"/question/list/?status=resolved&page={deep // 4}"),
        ("해결됨 + sort by votes", "/question/list/?status=resolved&so=recommend"),
        ("미해결 + sort by answers", "/question/list/?status=open&so=popular"),
        ("해결됨 + search 은행", "/question/list/?status=resolved&kw=은행"),
        ("question detail", f"/question/detail/{min(12345, args.questions)}/"),
    ]  # fmt: skip
    runs = f"({args.repeat} runs, {os.cpu_count()} cores)"
    print(f"{'request':40s} {'p50 ms':>8s} {'p95 ms':>8s}   {runs}")
    for label, path in cases:
        p50, p95 = timed(client, path, args.repeat)
        print(f"{label:40s} {p50:8.1f} {p95:8.1f}")


if __name__ == "__main__":
    main()
