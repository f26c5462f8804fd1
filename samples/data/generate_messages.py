#!/usr/bin/env python3
"""Generate samples/data/messages.jsonl: a Segment-format message log for model.json.

Python 3.11, standard library only, deterministic (random.Random(20261129), no wall clock):
running it twice writes the same bytes. Run from anywhere:

    python3 samples/data/generate_messages.py

What is in the file (see the printed summary for the exact numbers):
  * 90 days of activity, 2026-09-01T00:00:00Z .. 2026-11-29T23:59:59Z, for 600 identified leads
    (u-0001 ...) and 40 anonymous visitors who never identify; 60 accounts (acct-01 ...).
  * ~30% of the identified leads browse first as anonymous visitors (anon-<hex>) and then send an
    identify carrying both userId and anonymousId; 20 leads are linked by an alias message
    instead (previousId = an old anonymousId or a legacy CRM id "legacy-NNN", userId = u-NNNN).
  * Archetypes: low-activity (most), evaluators (docs, trial sign-up, feature usage), hot leads
    (pricing, webinars, downloads, demo requests -> MQL / SQL; by quota 25 Sales Accepted, 9 Sales
    Rejected, 7 Deal Won -> customer), 16 hot leads whose burst ends in early September so their
    decayed engagement falls below 10 and they leave MQL (half of them send one more message in
    mid/late November, where the exit happens; the rest only at the as-of time), job seekers
    (careers pages, students), competitors (@rival.example).
  * Timestamps: whole seconds with "Z" mostly, some with milliseconds, a few with a +hh:mm offset.
  * The file is in time order except ~2% "late" messages (written hours to days after their
    timestamp) and ~1.5% retries (a second copy with the same messageId, later in the file; a few
    of the copies carry a timestamp a few seconds later; the earliest one is the one that counts).
  * A handful of `screen` messages (an ignored type); two of them belong to an anonymousId that
    sends nothing else, so it must not become a lead.

Deliberately broken lines (1-based line numbers in messages.jsonl; each must be rejected with its
line number and reason, without stopping the run):
  line  1234  not JSON: a track message truncated in the middle
  line  4567  no `type` (a "Demo Requested" track otherwise)
  line  8910  neither `userId` nor `anonymousId`
  line 12345  bad `timestamp`: "yesterday" (a /pricing page otherwise)
  line 16789  a track without `event`
  line 20000  an alias without `previousId`
Each broken line refers (where it has an id at all) to an existing lead and has its own unique
messageId (numbered after all the good ones), so rejecting it leaves every lead's result unchanged.
"""

from __future__ import annotations

import json
import os
import random
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone

SEED = 20261129
START = datetime(2026, 9, 1, tzinfo=timezone.utc)
DAYS = 90
SEC = 1000
MIN = 60 * SEC
HOUR = 60 * MIN
DAY = 24 * HOUR
END_MS = DAYS * DAY - SEC  # 2026-11-29T23:59:59Z, relative to START

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "messages.jsonl")

BROKEN_LINES = {
    1234: "truncated",
    4567: "no-type",
    8910: "no-id",
    12345: "bad-timestamp",
    16789: "track-no-event",
    20000: "alias-no-previousId",
}

N_IDENTIFIED = 600
N_ANON_ONLY = 40
N_ACCOUNTS = 60
N_ALIAS_ANON = 10
N_ALIAS_LEGACY = 10
LATE_RATE = 0.02
RETRY_RATE = 0.015

rng = random.Random(SEED)

# --------------------------------------------------------------------------------------------
# Catalogues
# --------------------------------------------------------------------------------------------

SITE = "https://www.acme.example"

PAGES = {
    "home": [("/", "Acme - Lead scoring for B2B teams", "Home")],
    "pricing": [
        ("/pricing", "Pricing - Acme", "Pricing"),
        ("/pricing", "Pricing - Acme", "Pricing"),
        ("/pricing/enterprise", "Enterprise plans - Acme", "Enterprise Pricing"),
        ("/pricing/compare", "Compare plans - Acme", "Compare Plans"),
    ],
    "docs": [
        ("/docs", "Documentation - Acme Docs", "Docs"),
        ("/docs/getting-started", "Getting started - Acme Docs", "Getting Started"),
        ("/docs/api/messages", "Messages API - Acme Docs", "Messages API"),
        ("/docs/scoring-rules", "Scoring rules reference - Acme Docs", "Scoring Rules"),
        ("/docs/integrations/segment", "Segment integration - Acme Docs", "Segment Integration"),
        ("/docs/tutorial/first-model", "Tutorial: your first scoring model - Acme Docs", "Tutorial"),
        ("/docs/sdk/dotnet", "The .NET SDK - Acme Docs", ".NET SDK"),
    ],
    "guides": [
        ("/guides/lead-scoring-101", "Lead scoring 101 - Acme Guides", "Lead Scoring 101"),
        ("/guides/mql-to-sql", "From MQL to SQL - Acme Guides", "MQL to SQL"),
        ("/guides/score-decay", "Why scores decay - Acme Guides", "Score Decay"),
    ],
    "blog": [
        ("/blog/2026/09/fall-release", "Fall release notes - Acme Blog", None),
        ("/blog/lead-scoring-tutorial", "A lead scoring Tutorial for beginners - Acme Blog", None),
        ("/blog/customer-story-northwind", "How Northwind doubled pipeline - Acme Blog", None),
        ("/blog/intent-signals", "Five intent signals you are ignoring - Acme Blog", None),
        ("/blog/video-tutorial-webhooks", "Video tutorial: webhooks in 10 minutes - Acme Blog", None),
        ("/blog/2026/10/benchmark-report", "The 2026 B2B funnel benchmark - Acme Blog", None),
    ],
    "features": [
        ("/features/scoring", "Scoring - Features - Acme", "Features"),
        ("/features/integrations", "Integrations - Features - Acme", "Features"),
        ("/features/reports", "Reports and dashboards - Features - Acme", "Features"),
        ("/features/routing", "Lead routing - Features - Acme", "Features"),
    ],
    "careers": [
        ("/careers", "Careers at Acme", "Careers"),
        ("/careers/jobs-12", "Senior Backend Engineer - Careers at Acme", "Job"),
        ("/careers/jobs-7", "Account Executive - Careers at Acme", "Job"),
        ("/careers/jobs-31", "Marketing Intern - Careers at Acme", "Job"),
    ],
    "other": [
        ("/about", "About Acme", "About"),
        ("/customers", "Customers - Acme", "Customers"),
        ("/contact", "Contact us - Acme", "Contact"),
        ("/webinars", "Webinars - Acme", "Webinars"),
        ("/security", "Security - Acme", "Security"),
    ],
}

# page mixes per archetype: category -> weight
MIX = {
    "low": {"home": 5, "blog": 5, "features": 3, "pricing": 1.5, "docs": 1, "guides": 1, "other": 2, "careers": 0.3},
    "eval": {"home": 2, "docs": 8, "guides": 3, "features": 3, "blog": 2, "pricing": 1.5, "other": 1},
    "hot": {"home": 2, "pricing": 4, "features": 4, "docs": 3, "guides": 2, "blog": 2, "other": 2},
    "quiet": {"home": 2, "features": 4, "docs": 2, "guides": 2, "blog": 2, "other": 2},
    "jobseeker": {"careers": 6, "home": 2, "blog": 2, "other": 2, "docs": 0.5},
    "competitor": {"pricing": 3, "features": 5, "docs": 4, "home": 1},
    "anon": {"home": 5, "blog": 4, "pricing": 2, "features": 3, "docs": 1, "careers": 1, "other": 1},
}

CAMPAIGN_SOURCES = [("google", 5), ("linkedin", 3), ("newsletter", 3)]
CAMPAIGN_NAMES = {"google": ("cpc", "fall-search"), "linkedin": ("paid-social", "abm-q4"), "newsletter": ("email", "weekly")}

FIRST = ["Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn",
         "Dana", "Robin", "Chris", "Pat", "Lee", "Kim", "Maria", "James", "Priya", "Arjun", "Wei",
         "Mei", "Lukas", "Anna", "Sophie", "Louis", "Emma", "Noah", "Olivia", "Liam", "Hannah",
         "Felix", "Chloe", "Rahul", "Ananya", "Carlos", "Lucia", "Tom", "Grace", "Oliver", "Isla",
         "Ethan", "Mia", "Jonas", "Lea", "Hugo", "Camille", "Ravi", "Sara", "David", "Nina"]
LAST = ["Smith", "Johnson", "Lee", "Brown", "Garcia", "Miller", "Davis", "Martin", "Clark", "Lewis",
        "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson",
        "Patel", "Sharma", "Chen", "Wang", "Mueller", "Schmidt", "Fischer", "Dubois", "Moreau",
        "Bernard", "Taylor", "Evans", "Wilson", "Roberts", "Khan", "Singh", "Novak", "Rossi",
        "Lopez", "Kowalski", "Berg", "Tremblay", "Roy", "Murphy", "Kelly", "Okafor", "Silva"]

COUNTRIES = [("US", 45), ("GB", 12), ("DE", 10), ("FR", 7), ("IN", 9), ("CA", 7), ("AU", 3),
             ("NL", 3), ("ES", 2), ("BR", 2)]
# UTC hour window of a working day per country, and the offset used for a few timestamps
REGION = {"US": (14, 23, -300), "CA": (13, 22, -240), "BR": (12, 21, -180), "GB": (8, 17, 0),
          "DE": (7, 16, 120), "FR": (7, 16, 120), "NL": (7, 16, 60), "ES": (8, 17, 120),
          "IN": (4, 13, 330), "AU": (22, 31, 600)}
PHONE_FMT = {"US": "+1 {a} 555 {b:04d}", "CA": "+1 {a} 555 {b:04d}", "GB": "+44 20 7946 {b:04d}",
             "DE": "+49 30 {c}", "FR": "+33 1 {d}", "IN": "+91 22 {c}", "AU": "+61 2 9{c}",
             "NL": "+31 20 {c}", "ES": "+34 91 {c}", "BR": "+55 11 {c}"}
JUNK_PHONES = ["n/a", "none", "ask me", "tbd", "-", "000"]

SENIOR_BUYER = ["VP of Sales", "VP Marketing", "VP of Engineering", "Chief Marketing Officer",
                "Chief Revenue Officer", "Chief Technology Officer", "Head of Growth",
                "Head of Revenue Operations", "Head of Marketing", "SVP Sales"]
SENIOR_DIRECTOR = ["Director of IT", "Director of Marketing", "Director of Demand Generation",
                   "Marketing Director", "Director of Sales Operations", "Director, Data Platform"]
TECH = ["Software Engineer", "Senior Software Engineer", "Developer", "Backend Developer",
        "Solutions Architect", "Data Engineer", "DevOps Engineer"]
PRACT = ["Marketing Manager", "Marketing Operations Manager", "Analyst", "Data Analyst",
         "Business Analyst", "Sales Manager", "Product Manager", "RevOps Manager",
         "Demand Generation Manager", "Consultant", "Account Executive", "Marketing Coordinator",
         "Founder", "Operations Manager"]
JUNIOR = ["Student", "Intern", "Graduate Student", "Marketing Intern", "PhD Student"]

INDUSTRIES = ["software", "finance", "healthcare", "retail", "education", "manufacturing"]
IND_WEIGHTS = [30, 15, 12, 15, 10, 18]
NAME_A = ["North", "Blue", "Silver", "Bright", "Iron", "Cedar", "Granite", "Harbor", "Summit",
          "Maple", "Pioneer", "Lumen", "Vertex", "Orbit", "Crescent", "Atlas", "Beacon", "Falcon",
          "Evergreen", "Quarry", "Juniper", "Cobalt", "Redwood", "Meridian", "Sterling", "Aurora",
          "Kestrel", "Oak", "Willow", "Copper"]
NAME_B = {"software": ["Labs", "Software", "Systems", "Cloud", "Data"],
          "finance": ["Capital", "Bank", "Financial", "Insurance"],
          "healthcare": ["Health", "Clinics", "Medical", "Care"],
          "retail": ["Outfitters", "Market", "Stores", "Goods"],
          "education": ["University", "Academy", "College", "Learning"],
          "manufacturing": ["Industries", "Manufacturing", "Works", "Machines"]}
PLANS = ["free", "starter", "pro", "enterprise"]

EMAIL_CAMPAIGNS = []  # (send day, emailId, campaign)
for w in range(13):
    EMAIL_CAMPAIGNS.append((1 + 7 * w, "em-nl-%02d" % (w + 1), "newsletter"))
for i, d in enumerate([5, 26, 47, 68]):
    EMAIL_CAMPAIGNS.append((d, "em-prod-%02d" % (i + 1), "product"))
WEBINARS = [(9, "wb-2026-09", "Scoring that sales trusts"), (37, "wb-2026-10", "Intent data in practice"),
            (65, "wb-2026-11", "Fall release walkthrough")]
for i, (d, wid, _) in enumerate(WEBINARS):
    EMAIL_CAMPAIGNS.append((d - 6, "em-wb-%02d" % (i + 1), "webinar"))
EMAIL_CAMPAIGNS.sort()

FEATURES = ["reports", "sandbox-x", "api", "dashboards"]
UNUSED_EVENTS = ["Video Played", "Search Performed", "Invite Sent", "Comment Added"]


def wchoice(pairs):
    items, weights = zip(*pairs)
    return rng.choices(items, weights=weights)[0]


# --------------------------------------------------------------------------------------------
# Message store
# --------------------------------------------------------------------------------------------

class Msg:
    __slots__ = ("ts", "body", "seq", "lead", "style", "file_ts", "mid", "late", "retry_of")

    def __init__(self, ts, body, lead):
        self.ts = ts
        self.body = body
        self.lead = lead
        self.seq = len(MSGS)
        self.style = "s"
        self.file_ts = ts
        self.mid = None
        self.late = False
        self.retry_of = None


MSGS: list[Msg] = []


def emit(lead, ts, body):
    ts = int(ts)
    if ts < 0 or ts > END_MS:
        return None
    m = Msg(ts, body, lead)
    MSGS.append(m)
    lead.last_ts = max(lead.last_ts, ts)
    return m


# --------------------------------------------------------------------------------------------
# Accounts
# --------------------------------------------------------------------------------------------

class Account:
    def __init__(self, idx):
        self.id = "acct-%02d" % idx
        self.industry = rng.choices(INDUSTRIES, IND_WEIGHTS)[0]
        self.name = None
        self.domain = None
        self.size = None
        self.country = wchoice(COUNTRIES)
        self.plan = rng.choices(PLANS, [3, 3, 3, 1])[0]
        self.changes = []  # (day, {trait: value})
        self.members = []


def make_accounts():
    accts = []
    used = set()
    sizes = [5, 12, 25, 40, 60, 90, 120, 150, 199, 200, 250, 300, 350, 420, 500, 650, 800, 950,
             1200, 1500, 1800, 2200, 2500, 3000, 3500, 4200, 5000, 5001, 6500, 8000, 12000, 20000]
    for i in range(1, N_ACCOUNTS + 1):
        a = Account(i)
        while True:
            nm = rng.choice(NAME_A) + " " + rng.choice(NAME_B[a.industry])
            if nm not in used:
                used.add(nm)
                break
        a.name = nm
        a.domain = nm.lower().replace(" ", "") + ".example"
        a.size = sizes[(i - 1) % len(sizes)] if i <= len(sizes) else int(round(10 ** rng.uniform(1.0, 4.2), -1))
        accts.append(a)
    # the competitor's own account, and a university for students
    rival = accts[-1]
    rival.name, rival.domain, rival.industry, rival.size, rival.country, rival.plan = (
        "Rival Analytics", "rival.example", "software", 400, "US", "pro")
    uni = accts[-2]
    uni.name, uni.domain, uni.industry, uni.size, uni.plan = (
        "State University", "stateu.example", "education", 15000, "free")
    # account trait changes over time: plan upgrades, and two industry re-classifications
    for a in rng.sample(accts[:-2], 10):
        nxt = PLANS[min(PLANS.index(a.plan) + 1, 3)]
        if nxt != a.plan:
            a.changes.append((rng.randint(20, 80), {"plan": nxt}))
    changed = [a for a in accts[:-2] if a.industry in ("retail", "manufacturing")][:2]
    for a, d in zip(changed, (30, 50)):
        a.changes.append((d, {"industry": "software"}))
    for a in accts:
        a.changes.sort(key=lambda c: c[0])
    return accts


def account_traits_at(a, ts):
    t = {"name": a.name, "industry": a.industry, "plan": a.plan}
    for d, ch in a.changes:
        if d * DAY <= ts:
            t.update(ch)
    return t


# --------------------------------------------------------------------------------------------
# Leads
# --------------------------------------------------------------------------------------------

class Lead:
    def __init__(self, n, kind):
        self.n = n
        self.uid = "u-%04d" % n if n else None
        self.kind = kind  # low | eval | hot | quiet | jobseeker | competitor | anon
        self.anon = None  # anonymousId used before identify
        self.alias_prev = None  # previousId of an alias (an anonymousId or a legacy id)
        self.alias_kind = None  # None | "anon" | "legacy"
        self.id_ts = None  # when the lead becomes u-NNNN
        self.keep_anon = False  # later client-side messages also carry anonymousId
        self.account = None
        self.traits = {}
        self.country = "US"
        self.t0 = 0
        self.last_ts = -1

    def ids(self, ts, server=False):
        if self.uid is None:
            return {"anonymousId": self.anon}
        if self.id_ts is not None and ts < self.id_ts:
            if self.alias_kind == "legacy":
                return {"userId": self.alias_prev}
            return {"anonymousId": self.anon}
        d = {"userId": self.uid}
        if self.keep_anon and not server and self.alias_kind is None and rng.random() < 0.6:
            d["anonymousId"] = self.anon
        return d


def anon_id():
    return "anon-" + "%012x" % rng.getrandbits(48)


def work_time(lead, day):
    lo, hi, _ = REGION.get(lead.country, (9, 18, 0))
    h = rng.uniform(lo, hi) if rng.random() < 0.85 else rng.uniform(lo - 6, hi + 4)
    return int(day * DAY + h * HOUR + rng.randint(0, 59) * SEC)


def make_traits(lead, acct):
    k = lead.kind
    if k == "hot":
        title = rng.choice(SENIOR_BUYER) if rng.random() < 0.45 else (
            rng.choice(SENIOR_DIRECTOR) if rng.random() < 0.55 else rng.choice(TECH + PRACT))
    elif k == "quiet":
        title = rng.choice(SENIOR_DIRECTOR)
    elif k == "eval":
        title = rng.choice(TECH) if rng.random() < 0.55 else (
            rng.choice(PRACT) if rng.random() < 0.8 else rng.choice(SENIOR_DIRECTOR))
    elif k == "jobseeker":
        title = rng.choice(JUNIOR) if rng.random() < 0.7 else rng.choice(TECH)
    elif k == "competitor":
        title = rng.choice(["Product Marketing Manager", "Competitive Intelligence Analyst"])
    else:
        r = rng.random()
        title = (rng.choice(PRACT) if r < 0.45 else rng.choice(TECH) if r < 0.65 else
                 rng.choice(SENIOR_BUYER + SENIOR_DIRECTOR) if r < 0.80 else
                 rng.choice(JUNIOR) if r < 0.90 else None)
    if title and rng.random() < 0.03:
        title = title.lower()  # typed by hand
    fn, ln = rng.choice(FIRST), rng.choice(LAST)
    lead.country = acct.country if rng.random() < 0.85 else wchoice(COUNTRIES)
    r = rng.random()
    if k == "competitor":
        email = "%s.%s@rival.example" % (fn.lower(), ln.lower())
    elif r < (0.35 if k == "jobseeker" else 0.11 if k in ("low", "eval") else 0.04):
        dom = rng.choices(["gmail.com", "yahoo.com", "hotmail.com"], [6, 2, 2])[0]
        email = "%s.%s%d@%s" % (fn.lower(), ln.lower(), rng.randint(1, 99), dom)
        if rng.random() < 0.08:
            email = email.upper()
    else:
        email = "%s.%s@%s" % (fn.lower(), ln.lower(), acct.domain)
    t = {"email": email, "firstName": fn, "lastName": ln}
    if title:
        t["title"] = title
    if rng.random() < (0.97 if k in ("hot", "quiet") else 0.85):
        t["company"] = acct.name
    if rng.random() < (0.98 if k in ("hot", "quiet") else 0.88):
        if rng.random() < 0.75:
            emp = acct.size
        else:
            emp = max(5, min(20000, int(round(acct.size * rng.uniform(0.6, 1.5), -1 if acct.size > 50 else 0))))
        if k == "quiet":
            emp = max(200, min(5000, emp))
        t["employees"] = str(emp) if rng.random() < 0.04 else emp
    t["country"] = lead.country if rng.random() > 0.01 else lead.country.lower()
    if rng.random() < (0.7 if k in ("hot", "quiet") else 0.45):
        if rng.random() < 0.07:
            t["phone"] = rng.choice(JUNK_PHONES)
        else:
            t["phone"] = PHONE_FMT[lead.country].format(
                a=rng.choice([415, 212, 646, 312, 617, 512, 206, 416, 604]), b=rng.randint(100, 199),
                c="%d %d" % (rng.randint(100, 999), rng.randint(1000, 9999)),
                d="%02d %02d %02d %02d" % tuple(rng.randint(10, 99) for _ in range(4)))
    if title and title in PRACT and rng.random() < 0.25 or (title is None and rng.random() < 0.3):
        t["role"] = "technical"
    elif title and rng.random() < 0.05:
        t["role"] = rng.choice(["business", "technical"])
    return t


# --------------------------------------------------------------------------------------------
# Behaviour building blocks
# --------------------------------------------------------------------------------------------

def page(lead, ts, cat=None, path=None, campaign_p=0.15):
    if path is None:
        path, title, name = rng.choice(PAGES[cat])
    else:
        title, name = next((t, n) for c in PAGES.values() for p, t, n in c if p == path)
    if rng.random() < 0.01 and path.startswith("/pricing"):
        path = path.replace("/pricing", "/Pricing")  # odd casing from a hand-made link
    props = {"path": path, "url": SITE + path, "title": title}
    body = {"type": "page"}
    body.update(lead.ids(ts))
    if name and rng.random() < 0.7:
        body["name"] = name
    ctx = None
    if rng.random() < campaign_p:
        src = wchoice(CAMPAIGN_SOURCES)
        med, cname = CAMPAIGN_NAMES[src]
        ctx = {"campaign": {"source": src, "medium": med, "name": cname}}
        props["url"] += "?utm_source=%s&utm_medium=%s&utm_campaign=%s" % (src, med, cname)
    if rng.random() < 0.3:
        props["referrer"] = rng.choice(["https://www.google.com/", "https://www.linkedin.com/", SITE + "/", ""])
    body["properties"] = props
    if ctx:
        body["context"] = ctx
    return emit(lead, ts, body)


def track(lead, ts, event, props=None, ctx=None, server=False):
    body = {"type": "track"}
    body.update(lead.ids(ts, server))
    body["event"] = event
    if props is not None:
        body["properties"] = props
    if ctx:
        body["context"] = ctx
    return emit(lead, ts, body)


def identify(lead, ts, traits, both=False, user_id=None):
    body = {"type": "identify", "userId": user_id or lead.uid}
    if both:
        body["anonymousId"] = lead.anon
    body["traits"] = traits
    return emit(lead, ts, body)


def group(lead, ts, acct, traits="auto"):
    body = {"type": "group"}
    body.update(lead.ids(ts, server=True))
    body["groupId"] = acct.id
    if traits == "auto":
        r = rng.random()
        full = account_traits_at(acct, ts)
        traits = full if r < 0.7 else {"name": full["name"]} if r < 0.85 else {} if r < 0.93 else None
    if traits is not None:
        body["traits"] = traits
    return emit(lead, ts, body)


def session(lead, ts, n, mix, campaign_p=0.15):
    cats = list(mix.keys())
    ws = list(mix.values())
    for _ in range(n):
        page(lead, ts, rng.choices(cats, ws)[0], campaign_p=campaign_p)
        ts += rng.randint(20, 420) * SEC
    return ts


def email_activity(lead, t_from, t_to, p_open, p_click):
    for day, eid, camp in EMAIL_CAMPAIGNS:
        sent = day * DAY + 13 * HOUR
        if sent < t_from or sent > t_to:
            continue
        if rng.random() >= p_open:
            continue
        t = sent + int(rng.expovariate(1 / (10 * HOUR)))
        opened_id = eid.upper() if rng.random() < 0.02 else eid
        track(lead, t, "email opened" if rng.random() < 0.005 else "Email Opened", {"emailId": opened_id}, server=True)
        for _ in range(rng.choices([0, 1, 2], [75, 20, 5])[0]):  # re-opens score once
            t += rng.randint(10 * MIN, 2 * DAY)
            track(lead, t, "Email Opened", {"emailId": eid}, server=True)
        if rng.random() < p_click:
            t += rng.randint(5, 120) * SEC
            ev = "Email Clicked" if rng.random() < 0.7 else "Link Clicked"
            props = {"emailId": eid, "campaign": camp} if rng.random() < 0.9 else {"emailId": eid}
            track(lead, t, ev, props, server=True)
            if rng.random() < 0.6:
                path = {"newsletter": "/blog/intent-signals", "product": "/features/scoring",
                        "webinar": "/webinars"}[camp]
                page(lead, t + rng.randint(3, 20) * SEC, path=path, campaign_p=0)


def misc_events(lead, t_from, t_to, n):
    for _ in range(n):
        if t_to <= t_from:
            return
        t = rng.randint(t_from, t_to)
        ev = rng.choice(UNUSED_EVENTS)
        props = {"Video Played": {"videoId": "vid-%d" % rng.randint(1, 12), "position": rng.randint(0, 600)},
                 "Search Performed": {"query": rng.choice(["pricing", "api", "webhooks", "decay", "segment"])},
                 "Invite Sent": {"invitee": "colleague"}, "Comment Added": {"page": "/docs/scoring-rules"}}[ev]
        track(lead, t, ev, props)


def download(lead, ts, fmt=None):
    fmt = fmt or rng.choices(["pdf", "video", "blog"], [5, 3, 2])[0]
    asset = {"pdf": ["b2b-benchmark-2026", "scoring-playbook", "roi-calculator"],
             "video": ["product-tour", "webinar-recording"], "blog": ["intent-signals-checklist"]}[fmt]
    return track(lead, ts, "Content Downloaded", {"format": fmt, "asset": rng.choice(asset)})


def webinar(lead, t_from, t_to):
    for d, wid, title in WEBINARS:
        live = d * DAY + 16 * HOUR + rng.randint(0, 300) * SEC
        if t_from <= live <= t_to:
            return track(lead, live, "Webinar Attended", {"webinarId": wid, "title": title}, server=True)
    past = [w for w in WEBINARS if w[0] * DAY < t_to]
    if past:
        d, wid, title = past[-1]
        t = rng.randint(max(t_from, d * DAY), t_to)
        return track(lead, t, "Webinar Attended", {"webinarId": wid, "title": title, "onDemand": True})
    return None


def trial(lead, t_from, t_to, n_uses, partner_p=0.2):
    ctx = {"referrer": {"type": "partner", "id": "partner-%d" % rng.randint(1, 9)}} if rng.random() < partner_p else None
    track(lead, t_from, "Signed Up", {"plan": rng.choice(["trial", "free"])}, ctx)
    seats = rng.choice([1, 1, 3, 5, 8, 12, 25, 40, 80])
    for _ in range(n_uses):
        t = rng.randint(t_from + HOUR, max(t_from + HOUR, t_to))
        if rng.random() < 0.15:
            seats = max(1, min(80, seats + rng.randint(-3, 10)))
        track(lead, t, "Feature Used", {"feature": rng.choices(FEATURES, [4, 2, 3, 3])[0], "seats": seats})


# --------------------------------------------------------------------------------------------
# Archetypes
# --------------------------------------------------------------------------------------------

def start_identity(lead, t):
    """Anonymous browsing / legacy history before the lead becomes u-NNNN; returns identify time."""
    mix = MIX.get(lead.kind, MIX["low"])
    if lead.alias_kind == "legacy":
        # an old CRM id that already had history; the alias links it to the new id later
        identify(lead, t, {"email": lead.traits["email"], "firstName": lead.traits["firstName"],
                           "lastName": lead.traits["lastName"]}, user_id=lead.alias_prev)
        t2 = t + rng.randint(1, 8) * DAY
        email_activity(lead, t, t2, 0.6, 0.1)
        session(lead, work_time(lead, t2 // DAY), rng.randint(1, 3), mix)
        return max(t2 + rng.randint(1, 4) * DAY, lead.last_ts + rng.randint(1, 20) * HOUR)
    if lead.anon:
        n_sess = rng.randint(1, 4 if lead.kind in ("hot", "eval") else 2)
        day = t // DAY
        for _ in range(n_sess):
            session(lead, work_time(lead, day), rng.randint(1, 4), mix, campaign_p=0.3)
            day += rng.randint(0, 3)
        return max(work_time(lead, day), lead.last_ts + rng.randint(1, 90) * MIN)
    return t


def become_known(lead, t_id):
    """The identify (or alias + identify) and the group call."""
    lead.id_ts = t_id if (lead.anon or lead.alias_kind) else None
    if lead.alias_kind:
        body = {"type": "alias", "previousId": lead.alias_prev, "userId": lead.uid}
        lead.alias_msg = emit(lead, t_id, body)
        identify(lead, t_id + rng.randint(1, 30) * SEC, dict(lead.traits))
    else:
        identify(lead, t_id, dict(lead.traits), both=lead.anon is not None)
    t = t_id + rng.randint(2, 600) * SEC
    group(lead, t, lead.account)
    return t


def later_identify(lead, t_from, t_to):
    if t_to - t_from < DAY:
        return
    t = rng.randint(t_from + DAY, t_to)
    r = rng.random()
    tr = lead.traits
    if r < 0.25 and tr.get("title") in PRACT:
        new = {"title": rng.choice(["Director of Marketing", "Head of Growth", "Senior " + tr["title"]])}
    elif r < 0.45:
        emp = tr.get("employees", lead.account.size)
        emp = int(emp) if isinstance(emp, (int, str)) and str(emp).isdigit() else lead.account.size
        new = {"employees": max(5, min(20000, int(emp * rng.uniform(1.05, 1.6))))}
    elif r < 0.6 and "phone" not in tr:
        new = {"phone": "+1 646 555 %04d" % rng.randint(100, 199)}
    elif r < 0.7 and "@" in tr["email"] and tr["email"].lower().split("@")[1] in ("gmail.com", "yahoo.com", "hotmail.com"):
        new = {"email": "%s.%s@%s" % (tr["firstName"].lower(), tr["lastName"].lower(), lead.account.domain),
               "company": lead.account.name}
    elif r < 0.8:
        new = {"role": "technical"}
    else:
        new = {"country": wchoice(COUNTRIES)}
    full = rng.random() < 0.5
    tr.update(new)
    identify(lead, t, dict(tr) if full else new)
    STATS["second identify"] += 1


def null_trait(lead, t_from, t_to):
    if t_to - t_from < DAY:
        return
    key = next((k for k in ("phone", "company", "title", "employees") if k in lead.traits), None)
    if key is None:
        return
    t = rng.randint(t_from + DAY, t_to)
    del lead.traits[key]
    identify(lead, t, {key: None})
    STATS["null trait"] += 1


def build_low(lead, t, end):
    mix = MIX[lead.kind] if lead.kind in MIX else MIX["low"]
    for _ in range(rng.choices([0, 1, 2, 3, 4, 5, 6, 8], [6, 18, 20, 18, 14, 10, 8, 6])[0]):
        day = rng.randint(t // DAY, max(t // DAY, end // DAY))
        session(lead, work_time(lead, day), rng.choices([1, 2, 3, 4, 5], [35, 30, 18, 10, 7])[0], mix)
    email_activity(lead, t, end, 0.4, 0.15)
    if rng.random() < 0.15:
        download(lead, rng.randint(t, max(t, end)), rng.choice(["blog", "pdf"]))
    if rng.random() < 0.25:
        misc_events(lead, t, end, rng.randint(1, 4))
    if rng.random() < 0.05:
        track(lead, rng.randint(t, max(t, end)), "Form Submitted", {"form": "newsletter"})
    if rng.random() < 0.06:
        track(lead, rng.randint(t, max(t, end)), "Unsubscribed", {"emailId": rng.choice(EMAIL_CAMPAIGNS)[1]}, server=True)
        STATS["unsubscribed"] += 1


def build_jobseeker(lead, t, end):
    for i in range(rng.randint(1, 3)):
        day = rng.randint(t // DAY, max(t // DAY, end // DAY))
        ts = work_time(lead, day)
        page(lead, ts, path="/careers")
        ts = session(lead, ts + 40 * SEC, rng.randint(1, 4), MIX["jobseeker"])
    email_activity(lead, t, end, 0.15, 0.05)
    if rng.random() < 0.4:
        track(lead, rng.randint(t, max(t, end)), "Form Submitted", {"form": "newsletter"})


def build_competitor(lead, t, end):
    for _ in range(rng.randint(3, 6)):
        day = rng.randint(t // DAY, max(t // DAY, end // DAY))
        session(lead, work_time(lead, day), rng.randint(2, 6), MIX["competitor"])
    trial(lead, t + rng.randint(1, 5) * DAY, end, rng.randint(3, 8), partner_p=0)
    download(lead, rng.randint(t, end), "pdf")


def build_eval(lead, t, end):
    # evaluators: docs, trial, feature usage
    active_end = min(end, t + rng.randint(15, 60) * DAY)
    for _ in range(rng.randint(6, 16)):
        day = rng.randint(t // DAY, max(t // DAY, active_end // DAY))
        n = rng.choices([1, 2, 3, 4, 6, 8], [15, 20, 25, 20, 12, 8])[0]
        session(lead, work_time(lead, day), n, MIX["eval"])
    email_activity(lead, t, end, 0.5, 0.2)
    if rng.random() < 0.65:
        ts = t + rng.randint(0, 7 * DAY)
        trial(lead, ts, active_end, rng.randint(5, 40))
    if rng.random() < 0.5:
        download(lead, rng.randint(t, active_end))
    if rng.random() < 0.2:
        webinar(lead, t, active_end)
    if rng.random() < 0.1:
        track(lead, rng.randint(t, active_end), "Form Submitted", {"form": rng.choice(["contact-us", "newsletter"])})
    if rng.random() < 0.04:
        track(lead, rng.randint(t, end), "Unsubscribed", {}, server=True)
        STATS["unsubscribed"] += 1
    misc_events(lead, t, active_end, rng.randint(0, 10))


def build_hot(lead, t, end):
    length = rng.randint(15, 45) * DAY
    active_end = min(end, t + length)
    days = sorted(rng.randint(t // DAY, max(t // DAY, active_end // DAY)) for _ in range(rng.randint(9, 20)))
    pricing_sessions = set(rng.sample(range(len(days)), min(len(days), rng.randint(3, 5))))
    for i, day in enumerate(days):
        ts = work_time(lead, day)
        n = rng.choices([1, 2, 3, 4, 5, 6, 8], [8, 12, 20, 20, 15, 15, 10])[0]
        if i in pricing_sessions:
            ts = session(lead, ts, rng.randint(0, 2), MIX["hot"])
            page(lead, ts, path=rng.choice(["/pricing", "/pricing", "/pricing/enterprise", "/pricing/compare"]))
            ts += rng.randint(30, 300) * SEC
            n = max(0, n - 2)
        session(lead, ts, n, MIX["hot"])
    email_activity(lead, t, end, 0.65, 0.35)
    if rng.random() < 0.75:
        webinar(lead, t, active_end)
    for _ in range(rng.choices([0, 1, 2, 3, 4], [10, 30, 30, 20, 10])[0]):
        download(lead, rng.randint(t, active_end))
    misc_events(lead, t, active_end, rng.randint(0, 8))
    outcome = lead.outcome  # assigned by quota in main(): none | no-demo | accepted | won | accepted-rejected | rejected
    if outcome != "no-demo":
        lo = t + (active_end - t) // 2
        hi = active_end if outcome in ("none", "rejected", "accepted") else max(lo, min(active_end, 52 * DAY))
        demo = rng.randint(lo, hi)
        d = track(lead, demo, "Demo Requested", {"source": rng.choice(["pricing", "website", "webinar"])})
        if d is None:
            return
        STATS["demo requests"] += 1
        # same-second pairs: the form and the demo request share a timestamp for a few leads
        if rng.random() < 0.4:
            form_t = demo if rng.random() < 0.2 else demo + rng.randint(1, 3 * DAY)
            track(lead, form_t, "Form Submitted", {"form": rng.choice(["contact-us", "quote-request"])})
        if rng.random() < 0.5:  # coming back to the price list after the demo request
            page(lead, demo + rng.randint(1 * DAY, 10 * DAY), path="/pricing")
        if rng.random() < 0.3:
            track(lead, demo + rng.randint(1 * DAY, 12 * DAY), "Quote Requested",
                  {"seats": rng.choice([5, 10, 20, 35, 49, 50, 60, 80, 120, 200])})
        if rng.random() < 0.45:
            trial(lead, demo + rng.randint(HOUR, 3 * DAY), min(end, demo + 30 * DAY), rng.randint(5, 30))
        if outcome in ("accepted", "won", "accepted-rejected"):
            acc = track(lead, demo + rng.randint(1 * DAY, 6 * DAY), "Sales Accepted",
                        {"owner": rng.choice(["ae-anna", "ae-omar", "ae-li", "sdr-jo"])}, server=True)
            if acc:
                STATS["sales accepted"] += 1
                if outcome == "won":
                    t_won = min(acc.ts + rng.randint(8 * DAY, 30 * DAY), END_MS - rng.randint(1, 30) * HOUR)
                    if track(lead, max(acc.ts + HOUR, t_won), "Deal Won",
                             {"amount": rng.choice([12000, 24000, 48000, 96000]), "currency": "USD"}, server=True):
                        STATS["deal won"] += 1
                elif outcome == "accepted-rejected":
                    t_rej = min(acc.ts + rng.randint(5 * DAY, 20 * DAY), END_MS - rng.randint(1, 30) * HOUR)
                    if track(lead, max(acc.ts + HOUR, t_rej), "Sales Rejected",
                             {"reason": rng.choice(["no budget", "timing", "went with competitor"])}, server=True):
                        STATS["sales rejected"] += 1
        elif outcome == "rejected":
            if track(lead, demo + rng.randint(1 * DAY, 4 * DAY), "Sales Rejected",
                     {"reason": rng.choice(["not a fit", "student project", "no budget"])}, server=True):
                STATS["sales rejected"] += 1
    # sporadic activity after the active window
    for _ in range(rng.randint(0, 5)):
        if end - active_end > DAY:
            day = rng.randint(active_end // DAY + 1, end // DAY)
            session(lead, work_time(lead, day), rng.randint(1, 3), MIX["hot"])


def build_quiet(lead, t, end):
    """A burst in early September that reaches MQL, then silence (or one late email open)."""
    burst_end = min(t + rng.randint(5, 9) * DAY, 14 * DAY)
    days = sorted(rng.randint(t // DAY, burst_end // DAY) for _ in range(rng.randint(3, 5)))
    for i, day in enumerate(days[:3]):
        ts = work_time(lead, day)
        ts = session(lead, ts, rng.randint(0, 1), MIX["quiet"], campaign_p=0)
        page(lead, ts, path=rng.choice(["/pricing", "/pricing/enterprise"]), campaign_p=0)
    for day in days[3:]:
        session(lead, work_time(lead, day), 1, MIX["quiet"], campaign_p=0)
    if rng.random() < 0.5:
        webinar(lead, t, burst_end)
    else:
        download(lead, rng.randint(t, burst_end), "pdf")
    for day, eid, camp in EMAIL_CAMPAIGNS:
        if t <= day * DAY <= burst_end and rng.random() < 0.7:
            track(lead, day * DAY + 15 * HOUR + rng.randint(0, 3600) * SEC, "Email Opened", {"emailId": eid}, server=True)
    r = rng.random()
    if r < 0.5:  # comes back once, much later: the stage is re-evaluated then
        t_back = rng.randint(72 * DAY, END_MS - DAY)
        if rng.random() < 0.5:
            track(lead, t_back, "Email Opened", {"emailId": "em-nl-12"}, server=True)
        else:
            track(lead, t_back, "Video Played", {"videoId": "vid-3", "position": 0})


BUILDERS = {"low": build_low, "eval": build_eval, "hot": build_hot, "quiet": build_quiet,
            "jobseeker": build_jobseeker, "competitor": build_competitor}

STATS = Counter()


def build_anon_only(lead):
    day = rng.randint(0, DAYS - 1)
    lead.country = wchoice(COUNTRIES)
    for _ in range(rng.choices([1, 2, 3], [50, 35, 15])[0]):
        session(lead, work_time(lead, day), rng.randint(1, 5), MIX["anon"], campaign_p=0.35)
        day = min(DAYS - 1, day + rng.randint(0, 6))
    if rng.random() < 0.2:
        track(lead, work_time(lead, day), rng.choice(["Video Played", "Content Downloaded"]),
              {"videoId": "vid-1"} if rng.random() < 0.5 else {"format": "blog"})


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

def fmt_ts(ms, style, offset_min=0):
    dt = START + timedelta(milliseconds=ms)
    if style == "ms":
        return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)
    if style == "off":
        local = dt + timedelta(minutes=offset_min)
        sign = "+" if offset_min >= 0 else "-"
        return local.strftime("%Y-%m-%dT%H:%M:%S") + "%s%02d:%02d" % (sign, abs(offset_min) // 60, abs(offset_min) % 60)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    accts = make_accounts()
    weights = [1.0 / (i + 1) ** 0.7 for i in range(N_ACCOUNTS - 2)]

    kinds = (["hot"] * 74 + ["quiet"] * 16 + ["eval"] * 112 + ["jobseeker"] * 22 + ["competitor"] * 2)
    kinds += ["low"] * (N_IDENTIFIED - len(kinds))
    rng.shuffle(kinds)
    leads = [Lead(i + 1, k) for i, k in enumerate(kinds)]

    # sales outcomes of the hot leads, by quota (won / accepted-then-rejected ones start by day 40)
    hot = [l for l in leads if l.kind == "hot"]
    outcomes = ["won"] * 7 + ["accepted-rejected"] * 4 + ["rejected"] * 5 + ["accepted"] * 14 + ["no-demo"] * 8
    outcomes += ["none"] * (len(hot) - len(outcomes))
    rng.shuffle(outcomes)
    for l, o in zip(hot, outcomes):
        l.outcome = o

    # identity shapes
    plain = [l for l in leads if l.kind != "quiet"]
    alias_leads = rng.sample(plain, N_ALIAS_ANON + N_ALIAS_LEGACY)
    for i, l in enumerate(alias_leads):
        if i < N_ALIAS_ANON:
            l.alias_kind, l.anon = "anon", anon_id()
            l.alias_prev = l.anon
        else:
            l.alias_kind, l.alias_prev = "legacy", "legacy-%d" % rng.randint(100, 999)
    used_legacy = set()
    for l in alias_leads:
        if l.alias_kind == "legacy":
            while l.alias_prev in used_legacy:
                l.alias_prev = "legacy-%d" % rng.randint(100, 999)
            used_legacy.add(l.alias_prev)
    for l in leads:
        if l.alias_kind is None and l.kind != "quiet" and rng.random() < 0.35:
            l.anon = anon_id()
            l.keep_anon = True

    # accounts and traits
    for l in leads:
        if l.kind == "competitor":
            l.account = accts[-1]
        elif l.kind == "jobseeker" and rng.random() < 0.6:
            l.account = accts[-2]
        else:
            l.account = accts[rng.choices(range(N_ACCOUNTS - 2), weights)[0]]
        l.account.members.append(l)
        l.traits = make_traits(l, l.account)

    # a few leads move to another account later on
    movers = set(l.n for l in rng.sample([l for l in leads if l.kind in ("low", "eval", "hot")], 7))

    # behaviour
    for l in leads:
        if l.kind == "quiet":
            t0 = work_time(l, rng.randint(0, 3))
        elif l.kind == "hot":
            t0 = work_time(l, rng.randint(0, 40 if l.outcome in ("won", "accepted-rejected") else 62))
        else:
            t0 = work_time(l, rng.randint(0, DAYS - (15 if l.anon or l.alias_kind else 3)))
        if l.anon or l.alias_kind:
            l.id_ts = END_MS + 1  # everything before become_known() is sent under the old id
        t_id = start_identity(l, t0)
        if t_id > END_MS - HOUR:
            t_id = END_MS - HOUR - rng.randint(0, 20) * HOUR
        assert t_id > l.last_ts, l.uid
        t = become_known(l, t_id)
        BUILDERS[l.kind](l, t, END_MS)
        if rng.random() < 0.15:
            later_identify(l, t, END_MS)
        if rng.random() < 0.02 or l.n in (17, 18):
            null_trait(l, t, END_MS)
        if l.n in movers and END_MS - t > 5 * DAY:  # moves to another account
            other = accts[rng.choices(range(N_ACCOUNTS - 2), weights)[0]]
            while other is l.account:
                other = accts[rng.choices(range(N_ACCOUNTS - 2), weights)[0]]
            if other is not l.account:
                tg = rng.randint(t + 2 * DAY, END_MS)
                l.account.members.remove(l)
                l.account, l.moved = other, True
                other.members.append(l)
                group(l, tg, other, account_traits_at(other, tg))
                STATS["account changes"] += 1

    # account trait changes sent by a member that joined before and stays
    for a in accts:
        for d, ch in a.changes:
            members = [l for l in a.members if not getattr(l, "moved", False)
                       and any(m.body.get("type") == "group" and m.ts < d * DAY for m in MSGS if m.lead is l)]
            if members:
                m = rng.choice(members)
                group(m, d * DAY + 10 * HOUR + rng.randint(0, 3600) * SEC, a, account_traits_at(a, d * DAY + 11 * HOUR))

    anon_leads = []
    for i in range(N_ANON_ONLY):
        l = Lead(0, "anon")
        l.anon = anon_id()
        anon_leads.append(l)
        build_anon_only(l)

    # screens (an ignored type): a few for known leads, two for an id that sends nothing else
    screen_lead = Lead(0, "anon")
    screen_lead.anon = "anon-screen0nly0001"
    for l in rng.sample(leads, 6):
        t = rng.randint(l.id_ts or 0, END_MS)
        body = {"type": "screen", "userId": l.uid, "name": rng.choice(["Dashboard", "Lead List", "Settings"]),
                "properties": {"app": "acme-ios", "build": "4.2.1"}}
        emit(l, t, body)
    for t in (40 * DAY + 9 * HOUR, 40 * DAY + 9 * HOUR + 95 * SEC):
        emit(screen_lead, t, {"type": "screen", "anonymousId": screen_lead.anon, "name": "Onboarding"})

    # timestamp styles
    for m in MSGS:
        r = rng.random()
        if r < 0.08:
            m.style = "ms"
            m.ts = min(END_MS, m.ts + rng.randint(1, 999))
        elif r < 0.083:
            m.style = "off"

    # message ids in time order (ties: creation order)
    MSGS.sort(key=lambda m: (m.ts, m.seq))
    for i, m in enumerate(MSGS, 1):
        m.mid = "m-%06d" % i
        m.file_ts = m.ts

    # late messages: written hours to days after their timestamp
    originals = list(MSGS)
    for m in originals:
        if rng.random() < LATE_RATE:
            m.late = True
            m.file_ts = m.ts + rng.randint(3 * HOUR, 6 * DAY)
    for l in alias_leads[:3]:  # a few alias messages arrive after the lead's later activity
        if getattr(l, "alias_msg", None) and not l.alias_msg.late:
            l.alias_msg.late = True
            l.alias_msg.file_ts = l.alias_msg.ts + rng.randint(1 * DAY, 4 * DAY)

    # retries: a second copy with the same messageId later in the file
    retries = []
    for m in rng.sample(originals, int(len(originals) * RETRY_RATE)):
        c = Msg(m.ts, m.body, m.lead)
        c.style, c.mid, c.retry_of = m.style, m.mid, m
        if rng.random() < 0.12:
            c.ts = min(END_MS, m.ts + rng.randint(1, 9) * SEC)
        c.file_ts = max(m.file_ts, m.ts) + rng.randint(1 * MIN, 2 * DAY)
        retries.append(c)
    all_msgs = originals + retries
    order = {id(m): i for i, m in enumerate(all_msgs)}
    all_msgs.sort(key=lambda m: (m.file_ts, 0 if m.retry_of is None else 1, order[id(m)]))

    # serialise
    lines = []
    next_id = len(originals) + 1
    for m in all_msgs:
        off = REGION.get(m.lead.country, (0, 0, 120))[2] if m.style == "off" else 0
        if m.style == "off" and off == 0:
            off = 120
        d = {"type": m.body["type"], "messageId": m.mid, "timestamp": fmt_ts(m.ts, m.style, off)}
        for k, v in m.body.items():
            if k != "type":
                d[k] = v
        lines.append(d)

    # broken lines, inserted so that they land exactly on their line numbers
    for ln in sorted(BROKEN_LINES):
        kind = BROKEN_LINES[ln]
        prev = lines[ln - 2]
        uid = prev.get("userId") if isinstance(prev, dict) and str(prev.get("userId", "")).startswith("u-") else "u-%04d" % (ln % N_IDENTIFIED + 1)
        ts = prev["timestamp"] if isinstance(prev, dict) else fmt_ts(0, "s")
        mid = "m-%06d" % next_id
        next_id += 1
        if kind == "truncated":
            full = json.dumps({"type": "track", "messageId": mid, "timestamp": ts, "userId": uid,
                               "event": "Content Downloaded", "properties": {"format": "pdf", "asset": "scoring-playbook"}},
                              separators=(",", ":"))
            bad = full[: int(len(full) * 0.6)]
        elif kind == "no-type":
            bad = {"messageId": mid, "timestamp": ts, "userId": uid, "event": "Demo Requested", "properties": {"source": "website"}}
        elif kind == "no-id":
            bad = {"type": "track", "messageId": mid, "timestamp": ts, "event": "Webinar Attended", "properties": {"webinarId": "wb-2026-10"}}
        elif kind == "bad-timestamp":
            bad = {"type": "page", "messageId": mid, "timestamp": "yesterday", "userId": uid,
                   "properties": {"path": "/pricing", "url": SITE + "/pricing", "title": "Pricing - Acme"}}
        elif kind == "track-no-event":
            bad = {"type": "track", "messageId": mid, "timestamp": ts, "userId": uid, "properties": {"emailId": "em-nl-07"}}
        elif kind == "alias-no-previousId":
            bad = {"type": "alias", "messageId": mid, "timestamp": ts, "userId": uid}
        lines.insert(ln - 1, bad)

    with open(OUT, "w", encoding="ascii", newline="\n") as f:
        for d in lines:
            f.write(d if isinstance(d, str) else json.dumps(d, separators=(",", ":"), ensure_ascii=True))
            f.write("\n")

    # summary
    types = Counter(m.body["type"] for m in all_msgs)
    n_anon_then_id = sum(1 for l in leads if l.anon and l.alias_kind is None)
    late_n = sum(1 for m in originals if m.late)
    styles = Counter(m.style for m in all_msgs)
    n_lines = len(lines)
    assert n_lines >= max(BROKEN_LINES)
    print("wrote %s" % OUT)
    print("lines            %d" % n_lines)
    print("messages         %d (unique messageIds %d, retries %d, broken %d)" % (
        len(all_msgs), len(originals), len(retries), len(BROKEN_LINES)))
    print("leads            %d (identified %d: %d anonymous-then-identify, %d alias [%d anon, %d legacy]; anonymous only %d)" % (
        len(leads) + len(anon_leads), len(leads), n_anon_then_id, len(alias_leads), N_ALIAS_ANON, N_ALIAS_LEGACY, len(anon_leads)))
    print("archetypes       " + ", ".join("%s %d" % kv for kv in sorted(Counter(kinds).items())))
    print("accounts         %d (%d with trait changes, %d leads moved account)" % (
        len(accts), sum(1 for a in accts if a.changes), STATS["account changes"]))
    print("types            " + ", ".join("%s %d" % kv for kv in sorted(types.items())))
    events = Counter(m.body["event"] for m in originals if m.body["type"] == "track")
    print("events           " + ", ".join("%s %d" % kv for kv in sorted(events.items())))
    print("late             %d (%.2f%%)" % (late_n, 100.0 * late_n / len(originals)))
    print("retries          %d (%.2f%%), %d with a later timestamp" % (
        len(retries), 100.0 * len(retries) / len(originals), sum(1 for r in retries if r.ts != r.retry_of.ts)))
    print("timestamps       whole seconds %d, milliseconds %d, with offset %d" % (styles["s"], styles["ms"], styles["off"]))
    print("identify         second identify %d, trait set to null %d" % (STATS["second identify"], STATS["null trait"]))
    print("funnel           demo requests %d, sales accepted %d, sales rejected %d, deal won %d, unsubscribed %d" % (
        STATS["demo requests"], STATS["sales accepted"], STATS["sales rejected"], STATS["deal won"], STATS["unsubscribed"]))
    print("broken lines     " + ", ".join("%d %s" % kv for kv in sorted(BROKEN_LINES.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
