#!/usr/bin/env python3
"""Generator for ``match_pairs.csv``: a labelled evaluation set for duplicate
detection (record linkage) in the master patient index.

Each row is a pair of patient demographic records (given name, family name,
date of birth, sex, phone, last four SSN digits) as two registrations at
California addiction-treatment clinics might hold them, labelled ``same`` (one
person registered twice) or ``different`` (two people), with a ``kind`` slug
naming how the two records differ.  Run a matcher over every pair and compare
its decision with the label to measure precision and recall, overall and per
kind.

``same`` pairs start from one person and apply one or two realistic
discrepancies: a family- or given-name typo (one edit or one transposition),
compound surnames written hyphenated, with a space or as one part only,
surname particles (de la Cruz / Delacruz / Cruz), accents dropped, English and
Spanish nicknames, a date of birth with exactly one digit wrong or with day and
month swapped, given and family names swapped (including Vietnamese
family-name-first order), a new or missing phone, a missing or placeholder
(0000 / 9999) SSN-4, sex unknown on one side.  Every ``same`` pair keeps the
evidence a careful registrar would need: a name change or a date-of-birth
change always leaves an exact phone or SSN-4 in agreement, and a name change
together with a date change leaves both; name, date and phone never all change
at once.  Combined discrepancies have kinds joined with ``+``.  A last group,
``<kind>+name_dob_only``, has one discrepancy and no phone or SSN-4 on either
side (a walk-in registered with the minimum): only name, birth date and sex
can find those.

``different`` pairs are hard negatives: twins, siblings and spouses sharing a
family name and phone, parent and child with the same name (Jr.), very common
names (María García, José Hernández, Nguyễn Thị Lan, John Smith) with the same
or a nearby birth date, same name and birth date but different sex, unrelated
people sharing a sober-living house phone or both with placeholder SSN-4 and
the same birth date, a nickname or a one-letter surname apart, plus a few
unrelated pairs.

All people are synthetic.  Phones use the fictional 555-0100..555-0199 range
in California area codes; SSN-4 values are random digits.  The output is
deterministic (fixed seed, no set or hash ordering): running this script twice
writes byte-identical files.  Usage, from any directory::

    python3 services/admissions/tests/data/gen_match_pairs.py

writes ``match_pairs.csv`` next to this script and prints counts per label and
kind.  Standard library only.
"""

import csv
import datetime as dt
import os
import random
import unicodedata
from collections import Counter

SEED = 20240617
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "match_pairs.csv")
HEADER = [
    "label", "kind",
    "given_a", "family_a", "dob_a", "sex_a", "phone_a", "ssn4_a",
    "given_b", "family_b", "dob_b", "sex_b", "phone_b", "ssn4_b",
]
PLACEHOLDER_SSN = ("0000", "9999")
MIN_YEAR, MAX_YEAR = 1930, 2009

rng = random.Random(SEED)

# --------------------------------------------------------------------------
# Name pools
# --------------------------------------------------------------------------

HISPANIC_GIVEN_F = [
    "María", "Guadalupe", "Verónica", "Adriana", "Ana", "Rosa", "Leticia",
    "Sofía", "Daniela", "Alejandra", "Gabriela", "Yesenia", "Araceli", "Mónica",
    "Claudia", "Patricia", "Elena", "Jazmín", "Itzel", "Marisol", "Beatriz",
    "Raquel", "Inés", "Lucía", "Ximena", "Rocío", "Dolores", "Consuelo",
]
HISPANIC_GIVEN_M = [
    "José", "Jesús", "Juan", "Luis", "Carlos", "Miguel", "Jorge", "Eduardo",
    "Guillermo", "Ignacio", "Alberto", "Francisco", "Enrique", "Javier",
    "Óscar", "Ramón", "Andrés", "Héctor", "Sergio", "Raúl", "Fernando",
    "Ángel", "Martín", "Joaquín", "Rubén", "Efraín", "Julián", "Tomás",
]
HISPANIC_FAMILY = [
    "García", "Hernández", "Martínez", "López", "González", "Rodríguez",
    "Pérez", "Sánchez", "Ramírez", "Flores", "Gómez", "Torres", "Díaz",
    "Vásquez", "Jiménez", "Morales", "Reyes", "Cruz", "Ortiz", "Gutiérrez",
    "Chávez", "Ruiz", "Mendoza", "Castillo", "Álvarez", "Romero", "Herrera",
    "Medina", "Aguilar", "Vargas", "Núñez", "Ibáñez", "Muñoz", "Peña", "Rojas",
    "Contreras", "Domínguez", "Zúñiga", "Ordóñez", "Velázquez", "Cervantes",
    "Espinoza", "Salazar", "Fuentes", "Quintero", "Villaseñor",
]
HISPANIC_PARTICLE = ["de la Cruz", "de León", "del Río", "de la Torre", "de Jesús", "de la Rosa"]

VIET_FAMILY = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ",
    "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý",
]
VIET_GIVEN_M = [
    "An", "Minh", "Tuấn", "Dũng", "Hùng", "Long", "Khánh", "Bảo", "Phúc",
    "Quang", "Thành", "Hải", "Việt", "Nam", "Sơn", "Đức",
]
VIET_GIVEN_F = [
    "Hương", "Lan", "Thảo", "Linh", "Trang", "Hoa", "Phương", "Ngọc", "Mai",
    "Hằng", "Thủy", "Nhung", "Vy", "Yến", "Diễm", "Hạnh",
]

CHINESE_FAMILY = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Lin", "Chan", "Wong", "Cheung", "Lau"]
CHINESE_GIVEN_M = ["Wei", "Jian", "Hao", "Jun", "Tao", "Ming", "Bo", "Kai", "Zhiwei", "Kwok Wai"]
CHINESE_GIVEN_F = ["Jing", "Mei", "Hui", "Yan", "Ying", "Xiaoling", "Li Na", "Fang", "Xin", "Wai Ling"]

KOREAN_FAMILY = ["Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim", "Han", "Shin"]
KOREAN_GIVEN_M = ["Min-jun", "Hyun-woo", "Ji-hoon", "Jae-won", "Young-ho", "Sung-min", "Dong-hyun", "Seung-ho"]
KOREAN_GIVEN_F = ["Seo-yeon", "Soo-jin", "Eun-ji", "Min-ji", "Ji-young", "Hye-jin", "Yuna", "Ha-eun"]

ANGLO_FAMILY = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis",
    "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "White",
    "Harris", "Clark", "Lewis", "Walker", "Young", "Allen", "Baker", "Carter",
    "Mitchell", "Campbell", "Parker", "Evans", "Collins", "Stewart",
]
ANGLO_GIVEN_M = [
    "Robert", "William", "Michael", "James", "John", "David", "Richard",
    "Joseph", "Thomas", "Christopher", "Daniel", "Matthew", "Anthony",
    "Steven", "Kevin", "Brian", "Jason", "Ryan", "Tyler", "Dustin",
]
ANGLO_GIVEN_F = [
    "Elizabeth", "Jennifer", "Jessica", "Ashley", "Sarah", "Amanda",
    "Melissa", "Stephanie", "Nicole", "Katherine", "Margaret", "Rebecca",
    "Samantha", "Heather", "Brittany", "Amber", "Crystal", "Kayla",
]

FILIPINO_FAMILY = [
    "Santos", "Reyes", "Bautista", "Ocampo", "Mendoza", "Villanueva",
    "Aquino", "Castro", "Ramos", "Soriano", "Macaraeg", "Dimaculangan",
    "Manalo", "Pangilinan", "Tolentino", "Dizon", "Navarro", "Agbayani",
]
FILIPINO_PARTICLE = ["Dela Cruz", "De los Santos", "Dela Peña"]
FILIPINO_GIVEN_M = ["Rodel", "Arnel", "Ronaldo", "Jerome", "Mark Anthony", "Jomar", "Rogelio", "Jun", "Efren", "Danilo"]
FILIPINO_GIVEN_F = ["Maricel", "Jocelyn", "Rowena", "Marites", "Analyn", "Princess", "Kristine", "Lorna", "Marivic", "Jennylyn"]

ARMENIAN_FAMILY = [
    "Petrosyan", "Sargsyan", "Hakobyan", "Grigoryan", "Harutyunyan",
    "Khachatryan", "Avetisyan", "Karapetyan", "Mkrtchyan", "Hovhannisyan",
    "Gasparyan", "Manukyan", "Vardanyan", "Ter-Petrosyan", "Der-Bedrossian",
]
ARMENIAN_GIVEN_M = ["Armen", "Aram", "Hovhannes", "Gevorg", "Tigran", "Vahe", "Arman", "Hayk", "Narek", "Karen"]
ARMENIAN_GIVEN_F = ["Anahit", "Lusine", "Ani", "Gayane", "Siranush", "Armine", "Nare", "Mariam", "Tatevik", "Hasmik"]

GROUPS = {
    # group: (weight, family list, given F, given M)
    "hispanic": (40, HISPANIC_FAMILY, HISPANIC_GIVEN_F, HISPANIC_GIVEN_M),
    "vietnamese": (12, VIET_FAMILY, VIET_GIVEN_F, VIET_GIVEN_M),
    "chinese": (6, CHINESE_FAMILY, CHINESE_GIVEN_F, CHINESE_GIVEN_M),
    "korean": (5, KOREAN_FAMILY, KOREAN_GIVEN_F, KOREAN_GIVEN_M),
    "anglo": (22, ANGLO_FAMILY, ANGLO_GIVEN_F, ANGLO_GIVEN_M),
    "filipino": (8, FILIPINO_FAMILY, FILIPINO_GIVEN_F, FILIPINO_GIVEN_M),
    "armenian": (7, ARMENIAN_FAMILY, ARMENIAN_GIVEN_F, ARMENIAN_GIVEN_M),
}
GROUP_NAMES = list(GROUPS)

# Nicknames: (formal, sex, [nicknames]).
NICK_EN = [
    ("Robert", "M", ["Bob", "Rob", "Bobby"]),
    ("William", "M", ["Bill", "Will", "Billy"]),
    ("Elizabeth", "F", ["Liz", "Beth", "Betty"]),
    ("Michael", "M", ["Mike"]),
    ("James", "M", ["Jim", "Jimmy"]),
    ("Richard", "M", ["Rick", "Rich"]),
    ("Katherine", "F", ["Kate", "Katie", "Kathy"]),
    ("Margaret", "F", ["Maggie", "Peggy"]),
    ("Jennifer", "F", ["Jen", "Jenny"]),
    ("Christopher", "M", ["Chris"]),
    ("Anthony", "M", ["Tony"]),
    ("Joseph", "M", ["Joe", "Joey"]),
    ("Thomas", "M", ["Tom", "Tommy"]),
    ("Daniel", "M", ["Dan", "Danny"]),
    ("Steven", "M", ["Steve"]),
    ("Rebecca", "F", ["Becky"]),
    ("Samantha", "F", ["Sam"]),
    ("Patricia", "F", ["Patty", "Trish"]),
]
NICK_ES = [
    ("Jesús", "M", ["Chuy", "Chucho"]),
    ("Guillermo", "M", ["Memo"]),
    ("Eduardo", "M", ["Lalo"]),
    ("Ignacio", "M", ["Nacho"]),
    ("Alberto", "M", ["Beto"]),
    ("Roberto", "M", ["Beto"]),
    ("Francisco", "M", ["Pancho", "Paco"]),
    ("Guadalupe", "F", ["Lupe", "Lupita"]),
    ("Enrique", "M", ["Quique"]),
    ("José", "M", ["Pepe", "Chepe"]),
    ("Rosario", "F", ["Chayo"]),
    ("Dolores", "F", ["Lola"]),
    ("Consuelo", "F", ["Chelo"]),
    ("Graciela", "F", ["Chela"]),
    ("Manuel", "M", ["Manolo"]),
    ("Concepción", "F", ["Concha", "Conchita"]),
    ("Rafael", "M", ["Rafa"]),
]

# Very common names in California registries: (given, family, sex).
COMMON_NAMES = [
    ("María", "García", "F"), ("José", "Hernández", "M"), ("Juan", "Martínez", "M"),
    ("María", "López", "F"), ("José", "García", "M"), ("Luis", "Rodríguez", "M"),
    ("Jesús", "González", "M"), ("Rosa", "Pérez", "F"), ("Francisco", "Sánchez", "M"),
    ("María", "Hernández", "F"), ("Juan", "Ramírez", "M"), ("Ana", "Cruz", "F"),
    ("Thị Lan", "Nguyễn", "F"), ("Văn Minh", "Nguyễn", "M"), ("Lan", "Nguyễn", "F"),
    ("Minh", "Trần", "M"), ("Hương", "Nguyễn", "F"), ("John", "Smith", "M"),
    ("Michael", "Johnson", "M"), ("Jennifer", "Lee", "F"), ("David", "Kim", "M"),
    ("Wei", "Wang", "M"), ("Min-jun", "Kim", "M"), ("James", "Williams", "M"),
    ("Jessica", "Brown", "F"), ("Armen", "Petrosyan", "M"), ("Maricel", "Santos", "F"),
    ("Michael", "Reyes", "M"), ("Jing", "Li", "F"), ("Christopher", "Garcia", "M"),
]

# Given names borne by both sexes: (given, family, group).
UNISEX = [
    ("Guadalupe", "Hernández"), ("Rosario", "Martínez"), ("Cruz", "Ramírez"),
    ("Trinidad", "López"), ("Ángel", "García"), ("Jordan", "Smith"),
    ("Taylor", "Johnson"), ("Alex", "Nguyễn"), ("An", "Nguyễn"), ("Minh", "Trần"),
    ("Khánh", "Lê"), ("Jamie", "Williams"), ("Chris", "Lee"), ("Ji-woo", "Kim"),
]

# Twins with near-identical given names (different sex).
TWIN_NAMES = [
    ("Daniel", "Daniela"), ("Gabriel", "Gabriela"), ("Francisco", "Francisca"),
    ("Alejandro", "Alejandra"), ("Antonio", "Antonia"), ("Fernando", "Fernanda"),
    ("Julio", "Julia"), ("Paul", "Paula"), ("Eric", "Erica"), ("Armen", "Armine"),
    ("Mario", "María"), ("Adrián", "Adriana"),
]

# Real surnames one letter apart (or one letter after folding accents).
SIMILAR_SURNAMES = [
    ("Hernández", "Fernández"), ("Chan", "Chen"), ("Lin", "Liu"), ("Phạm", "Phan"),
    ("Võ", "Vũ"), ("Gómez", "Gomes"), ("Mora", "Moya"), ("Vega", "Vera"),
    ("Kim", "Lim"), ("Lee", "Le"), ("Lara", "Lora"),
]

AREA_CODES = [
    "213", "310", "323", "408", "415", "510", "530", "559", "562", "619",
    "626", "650", "657", "661", "707", "714", "760", "805", "818", "831",
    "858", "909", "916", "925", "949", "951",
]

# --------------------------------------------------------------------------
# Primitive generators
# --------------------------------------------------------------------------

_used_phones = {}  # dict as an ordered set


def new_phone():
    """A fresh fictional California number, never handed out before."""
    while True:
        p = rng.choice(AREA_CODES) + "5550" + "%03d" % rng.randint(100, 199)
        if p not in _used_phones:
            _used_phones[p] = True
            return p


def new_ssn4(avoid=()):
    while True:
        s = "%04d" % rng.randint(1, 9998)
        if s not in PLACEHOLDER_SSN and s not in avoid:
            return s


def rand_date(y0=1950, y1=2006, swappable=False):
    while True:
        y = rng.randint(y0, y1)
        m = rng.randint(1, 12)
        d = rng.randint(1, 31)
        if swappable and not (d <= 12 and d != m):
            continue
        try:
            return dt.date(y, m, d)
        except ValueError:
            continue


def dob_one_digit(d):
    """The same date with exactly one digit of YYYY-MM-DD changed, still valid.
    Only the last digit of the year is changed, so the dates stay under ten
    years apart and never look like parent and child."""
    s = d.isoformat()
    positions = [3] * 30 + [5] * 6 + [6] * 16 + [8] * 16 + [9] * 32
    while True:
        pos = rng.choice(positions)
        digit = rng.choice([c for c in "0123456789" if c != s[pos]])
        t = s[:pos] + digit + s[pos + 1:]
        try:
            nd = dt.date.fromisoformat(t)
        except ValueError:
            continue
        if MIN_YEAR <= nd.year <= MAX_YEAR and nd != d:
            return nd


def dob_swapped(d):
    return dt.date(d.year, d.day, d.month)


def strip_accents(s):
    s = s.replace("Đ", "D").replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))


def has_accents(s):
    return strip_accents(s) != s


def fold(s):
    return "".join(c for c in strip_accents(s).lower() if c.isalpha())


KEY_NEIGHBOURS = {
    "a": "sqz", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh",
    "h": "gj", "i": "uo", "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm",
    "o": "ip", "p": "o", "q": "w", "r": "et", "s": "adz", "t": "ry", "u": "yi",
    "v": "cb", "w": "qe", "x": "zc", "y": "tu", "z": "xs",
}
PHONETIC = {"z": "s", "s": "z", "v": "b", "b": "v", "y": "i", "i": "y", "c": "k", "k": "c", "n": "m", "m": "n"}


def typo(word):
    """One realistic keyboard/phonetic edit or one transposition of adjacent
    letters in one part of `word`, never at the first letter."""
    for _ in range(100):
        chars = list(word)
        idx = [i for i in range(1, len(chars)) if chars[i].isascii() and chars[i].isalpha()
               and chars[i - 1] not in " -"]
        if not idx:
            return None
        op = rng.choice(["sub", "sub", "del", "ins", "swap", "swap"])
        i = rng.choice(idx)
        c = chars[i]
        if op == "sub":
            pool = PHONETIC.get(c, "") * 2 + KEY_NEIGHBOURS.get(c, "")
            if not pool:
                continue
            chars[i] = rng.choice(pool)
        elif op == "del":
            del chars[i]
        elif op == "ins":
            chars.insert(i, c)  # doubled letter
        else:
            if i + 1 >= len(chars) or not chars[i + 1].isalpha() or chars[i + 1] == c:
                continue
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        out = "".join(chars)
        if fold(out) != fold(word) and len(fold(out)) >= 2:
            return out
    return None


def pick_group(exclude=()):
    names = [g for g in GROUP_NAMES if g not in exclude]
    return rng.choices(names, weights=[GROUPS[g][0] for g in names])[0]


def given_for(group, sex):
    _, _, gf, gm = GROUPS[group]
    g = rng.choice(gf if sex == "F" else gm)
    if group == "vietnamese" and rng.random() < 0.35:
        g = ("Thị " if sex == "F" else "Văn ") + g
    return g


def family_for(group, compound=None, particle=False):
    fams = GROUPS[group][1]
    if particle:
        return rng.choice(FILIPINO_PARTICLE if group == "filipino" else HISPANIC_PARTICLE)
    if compound:
        a, b = rng.sample(HISPANIC_FAMILY, 2)
        return a + ("-" if compound == "hyphen" else " ") + b
    fam = rng.choice(fams)
    if group == "hispanic" and rng.random() < 0.2:  # paternal + maternal surname
        fam = fam + " " + rng.choice([f for f in HISPANIC_FAMILY if f != fam])
    return fam


def person(group=None, sex=None, given=None, family=None, dob=None,
           compound=None, particle=False, swappable=False, ssn=None, phone=True):
    group = group or pick_group()
    sex = sex or rng.choice("FM")
    p = {
        "given": given or given_for(group, sex),
        "family": family or family_for(group, compound, particle),
        "dob": dob or rand_date(swappable=swappable),
        "sex": sex,
        "phone": new_phone() if phone and rng.random() < 0.94 else "",
        "ssn4": "",
        "group": group,
    }
    if ssn is True or (ssn is None and rng.random() < 0.6):
        p["ssn4"] = new_ssn4()
    return p


# --------------------------------------------------------------------------
# Same pairs: base person and variations
# --------------------------------------------------------------------------

NAME_KINDS = ["family_typo", "given_typo", "hyphenated_surname", "compound_surname_part",
              "surname_particle", "accent_dropped", "nickname_en", "nickname_es",
              "names_swapped", "vietnamese_order"]
LIGHT_NAME_KINDS = ["hyphenated_surname", "surname_particle", "accent_dropped"]
DOB_KINDS = ["dob_one_digit", "dob_day_month_swapped"]
PHONE_KINDS = ["new_phone", "missing_phone"]
SSN_KINDS = ["missing_ssn", "placeholder_ssn"]


_viet_order_count = 0


def base_for(kinds, force_ssn):
    opts = {"ssn": True if force_ssn else None}
    if "nickname_en" in kinds or "nickname_es" in kinds:
        table = NICK_EN if "nickname_en" in kinds else NICK_ES
        formal, sex, _ = rng.choice(table)
        opts.update(group="anglo" if table is NICK_EN else "hispanic", sex=sex, given=formal)
    if "hyphenated_surname" in kinds or "compound_surname_part" in kinds:
        opts.update(group="hispanic", compound=rng.choice(["hyphen", "space"]))
    if "surname_particle" in kinds:
        opts.update(group=rng.choice(["hispanic", "hispanic", "filipino"]), particle=True)
    if "vietnamese_order" in kinds:
        # Alternate "Lan" + "Nguyễn" and "Thị Lan" + "Nguyễn" (read back as
        # "Nguyễn Thị" + "Lan").
        global _viet_order_count
        _viet_order_count += 1
        sex = rng.choice("FM")
        given = rng.choice(VIET_GIVEN_F if sex == "F" else VIET_GIVEN_M)
        if _viet_order_count % 2 == 0:
            given = ("Thị " if sex == "F" else "Văn ") + given
        opts.update(group="vietnamese", sex=sex, given=given)
    if "names_swapped" in kinds:
        opts.update(group=pick_group(exclude=("vietnamese",)))
    if "accent_dropped" in kinds and "group" not in opts:
        opts.update(group=rng.choice(["hispanic", "hispanic", "vietnamese"]))
    if "dob_day_month_swapped" in kinds:
        opts.update(swappable=True)
    if any(k in kinds for k in PHONE_KINDS):
        p = person(**opts)
        if not p["phone"]:
            p["phone"] = new_phone()
        return p
    return person(**opts)


def apply_variation(kind, b):
    """Changes record `b` in place; False when `kind` does not apply to it."""
    if kind == "family_typo":
        parts = b["family"].split(" ")
        i = rng.randrange(len(parts))
        t = typo(parts[i])
        if not t or len(fold(parts[i])) < 4:
            return False
        parts[i] = t
        b["family"] = " ".join(parts)
    elif kind == "given_typo":
        if len(fold(b["given"])) < 4:
            return False
        t = typo(b["given"])
        if not t:
            return False
        b["given"] = t
    elif kind == "hyphenated_surname":
        f = b["family"]
        if "-" in f:
            b["family"] = f.replace("-", " ")
        elif " " in f:
            b["family"] = f.replace(" ", "-")
        else:
            return False
    elif kind == "compound_surname_part":
        parts = b["family"].replace("-", " ").split(" ")
        if len(parts) != 2:
            return False
        b["family"] = parts[0] if rng.random() < 0.65 else parts[1]
    elif kind == "surname_particle":
        f = b["family"]
        words = f.split(" ")
        if len(words) < 2:
            return False
        collapsed = words[0].capitalize() + "".join(w.lower() for w in words[1:])  # Delacruz
        last = words[-1]  # Cruz
        recased = " ".join(w.capitalize() for w in words)  # de la Cruz -> De La Cruz
        options = [collapsed, collapsed, last, last] + ([recased] if recased != f else [])
        b["family"] = rng.choice(options)
    elif kind == "accent_dropped":
        g, f = strip_accents(b["given"]), strip_accents(b["family"])
        if (g, f) == (b["given"], b["family"]):
            return False
        b["given"], b["family"] = g, f
    elif kind in ("nickname_en", "nickname_es"):
        table = NICK_EN if kind == "nickname_en" else NICK_ES
        hits = [n for f, _, n in table if f == b["given"]]
        if not hits:
            return False
        b["given"] = rng.choice(hits[0])
    elif kind == "names_swapped":
        if " " in b["family"] or " " in b["given"] or "-" in b["family"] or b["group"] == "vietnamese":
            return False
        b["given"], b["family"] = b["family"], b["given"]
    elif kind == "vietnamese_order":
        if b["group"] != "vietnamese":
            return False
        words = b["given"].split(" ")
        if len(words) == 2:  # "Thị Hương" + "Nguyễn" read as "Nguyễn Thị" + "Hương"
            b["given"], b["family"] = b["family"] + " " + words[0], words[1]
        else:
            b["given"], b["family"] = b["family"], b["given"]
    elif kind == "dob_one_digit":
        b["dob"] = dob_one_digit(b["dob"])
    elif kind == "dob_day_month_swapped":
        d = b["dob"]
        if d.day > 12 or d.day == d.month:
            return False
        b["dob"] = dob_swapped(d)
    elif kind == "new_phone":
        if not b["phone"]:
            return False
        b["phone"] = new_phone()
    elif kind == "missing_phone":
        if not b["phone"]:
            return False
        b["phone"] = ""
    elif kind == "missing_ssn":
        if not b["ssn4"]:
            return False
        b["ssn4"] = ""
    elif kind == "placeholder_ssn":
        b["ssn4"] = rng.choice(PLACEHOLDER_SSN)
    elif kind == "sex_unknown":
        b["sex"] = "U"
    elif kind == "exact":
        pass
    else:
        raise ValueError(kind)
    return True


def name_words(p):
    return (p["given"] + " " + p["family"]).replace("-", " ").split()


def visible(a, b, kinds):
    """Each discrepancy named in `kinds` can still be seen in the final pair."""
    if "accent_dropped" in kinds:
        if any(has_accents(w) for w in name_words(b)):
            return False
        if not any(has_accents(w) and strip_accents(w) in name_words(b) for w in name_words(a)):
            return False
    return True


def evidence_ok(a, b, kinds):
    """Would a careful registrar still call this one person?"""
    heavy_name = any(k in NAME_KINDS and k not in LIGHT_NAME_KINDS for k in kinds)
    dob_changed = any(k in DOB_KINDS for k in kinds)
    phone_changed = any(k in PHONE_KINDS for k in kinds)
    phone_eq = bool(a["phone"]) and a["phone"] == b["phone"]
    ssn_eq = bool(a["ssn4"]) and a["ssn4"] == b["ssn4"] and a["ssn4"] not in PLACEHOLDER_SSN
    name_changed = any(k in NAME_KINDS for k in kinds)
    if name_changed and dob_changed and phone_changed:
        return False
    if dob_changed and heavy_name and not (phone_eq and ssn_eq):
        return False
    if dob_changed and not (phone_eq or ssn_eq):
        return False
    if heavy_name and not (phone_eq or ssn_eq):
        return False
    return True


def make_same(kinds):
    for attempt in range(500):
        base = base_for(kinds, force_ssn=attempt >= 20)
        a, b = dict(base), dict(base)
        if not all(apply_variation(k, b) for k in kinds):
            continue
        if kinds != ["exact"] and record(a) == record(b):
            continue
        if not evidence_ok(a, b, kinds) or not visible(a, b, kinds):
            continue
        if rng.random() < 0.5:
            a, b = b, a
        return ("same", "+".join(kinds), a, b)
    raise RuntimeError("could not build %r" % (kinds,))


SAME_PLAN = [
    (["exact"], 8),
    (["family_typo"], 10),
    (["given_typo"], 5),
    (["hyphenated_surname"], 7),
    (["compound_surname_part"], 9),
    (["surname_particle"], 5),
    (["accent_dropped"], 9),
    (["nickname_en"], 8),
    (["nickname_es"], 10),
    (["dob_one_digit"], 9),
    (["dob_day_month_swapped"], 7),
    (["names_swapped"], 5),
    (["vietnamese_order"], 7),
    (["new_phone"], 7),
    (["missing_phone"], 5),
    (["missing_ssn"], 6),
    (["placeholder_ssn"], 6),
    (["sex_unknown"], 3),
    (["accent_dropped", "compound_surname_part"], 2),
    (["nickname_es", "new_phone"], 2),
    (["nickname_en", "missing_ssn"], 1),
    (["family_typo", "new_phone"], 2),
    (["dob_one_digit", "missing_ssn"], 2),
    (["dob_day_month_swapped", "new_phone"], 2),
    (["accent_dropped", "dob_one_digit"], 2),
    (["hyphenated_surname", "placeholder_ssn"], 1),
    (["vietnamese_order", "missing_phone"], 2),
    (["compound_surname_part", "new_phone"], 2),
    (["family_typo", "dob_one_digit"], 1),
    (["accent_dropped", "missing_phone"], 1),
]

# Same person, one discrepancy, and nothing else on file: the record at the
# other site has no phone and no SSN-4 (a walk-in registered with the
# minimum). Only name and birth date (and sex) can find these; a registrar
# would still want each proposed. Kind gets the suffix `+name_dob_only`.
SPARSE_PLAN = [
    ("compound_surname_part", 4),
    ("hyphenated_surname", 2),
    ("nickname_es", 5),
    ("nickname_en", 3),
    ("dob_one_digit", 5),
    ("dob_day_month_swapped", 3),
    ("names_swapped", 3),
    ("vietnamese_order", 3),
    ("family_typo", 3),
    ("accent_dropped", 3),
]


def make_same_sparse(kind):
    for _ in range(500):
        base = base_for([kind], force_ssn=False)
        base["phone"], base["ssn4"] = "", ""
        a, b = dict(base), dict(base)
        if not apply_variation(kind, b) or record(a) == record(b):
            continue
        if not visible(a, b, [kind]):
            continue
        if rng.random() < 0.5:
            a, b = b, a
        return ("same", kind + "+name_dob_only", a, b)
    raise RuntimeError("could not build %r" % (kind,))


# --------------------------------------------------------------------------
# Different pairs (hard negatives)
# --------------------------------------------------------------------------


def ssn_pair(both=0.5, one=0.25):
    """Two different SSN-4s: both present, one side only, or none."""
    r = rng.random()
    if r < both:
        s = new_ssn4()
        return s, new_ssn4(avoid=(s,))
    if r < both + one:
        return (new_ssn4(), "") if rng.random() < 0.5 else ("", new_ssn4())
    return "", ""


def rec(given, family, dob, sex, phone, ssn4, group=""):
    return {"given": given, "family": family, "dob": dob, "sex": sex,
            "phone": phone, "ssn4": ssn4, "group": group}


def maybe_unaccent(r, p=0.15):
    if rng.random() < p:
        r["given"], r["family"] = strip_accents(r["given"]), strip_accents(r["family"])
    return r


def other_given(group, sex, not_given):
    while True:
        g = given_for(group, sex)
        last = lambda n: strip_accents(n).lower().split()[-1]
        if fold(g) != fold(not_given) and last(g) != last(not_given):
            return g


def shift_years(d, years):
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def diff_twins():
    group = pick_group()
    fam = family_for(group)
    dob = rand_date(1960, 2006)
    sa = rng.choice("FM")
    sb = sa if rng.random() < 0.4 else ("M" if sa == "F" else "F")
    ga = given_for(group, sa)
    gb = other_given(group, sb, ga)
    phone = new_phone()
    s1, s2 = ssn_pair()
    return (rec(ga, fam, dob, sa, phone, s1, group),
            rec(gb, fam, dob, sb, phone if rng.random() < 0.9 else new_phone(), s2, group))


def diff_twins_similar_given():
    m, f = rng.choice(TWIN_NAMES)
    group = "armenian" if m == "Armen" else ("anglo" if m in ("Paul", "Eric") else "hispanic")
    fam = family_for(group)
    dob = rand_date(1965, 2006)
    phone = new_phone()
    s1, s2 = ssn_pair()
    a = rec(m, fam, dob, "M", phone, s1, group)
    b = rec(f, fam, dob, "F", phone, s2, group)
    return (a, b) if rng.random() < 0.5 else (b, a)


def diff_siblings_same_phone():
    group = pick_group()
    fam = family_for(group)
    d1 = rand_date(1960, 2000)
    d2 = rand_date(d1.year + 1, min(d1.year + 12, 2008))
    sa, sb = rng.choice("FM"), rng.choice("FM")
    ga = given_for(group, sa)
    gb = other_given(group, sb, ga)
    phone = new_phone()
    s1, s2 = ssn_pair()
    return (rec(ga, fam, d1, sa, phone, s1, group), rec(gb, fam, d2, sb, phone, s2, group))


def diff_parent_child_same_name():
    group = pick_group()
    sex = "M" if rng.random() < 0.75 else "F"
    g = given_for(group, sex)
    fam = family_for(group)
    parent = rand_date(1945, 1978)
    child = rand_date(parent.year + 18, min(parent.year + 38, 2008))
    phone = new_phone()
    s1, s2 = ssn_pair(both=0.45, one=0.35)
    a = rec(g, fam, parent, sex, phone, s1, group)
    b = rec(g, fam, child, sex, phone if rng.random() < 0.8 else new_phone(), s2, group)
    maybe_unaccent(b)
    return (a, b) if rng.random() < 0.5 else (b, a)


def diff_spouses_same_phone():
    group = pick_group()
    fam = family_for(group)
    d1 = rand_date(1950, 1995)
    d2 = shift_years(rand_date(d1.year, d1.year), rng.randint(-8, 8))
    sa = rng.choice("FM")
    sb = ("M" if sa == "F" else "F") if rng.random() < 0.9 else sa
    ga = given_for(group, sa)
    gb = other_given(group, sb, ga)
    phone = new_phone()
    s1, s2 = ssn_pair()
    return (rec(ga, fam, d1, sa, phone, s1, group), rec(gb, fam, d2, sb, phone, s2, group))


def common_pair(dob_b_from):
    """Same common name; always a contradicting phone or SSN-4 (both present
    and different), so a careful registrar can tell them apart."""
    g, f, sex = rng.choice(COMMON_NAMES)
    dob = rand_date(1950, 2006)
    s1, s2 = ssn_pair(both=0.6, one=0.2)
    p1, p2 = new_phone(), new_phone()
    if rng.random() < 0.1:  # phone unknown on one side: the SSN-4s disagree
        p2 = ""
        s1 = new_ssn4()
        s2 = new_ssn4(avoid=(s1,))
    a = rec(g, f, dob, sex, p1, s1)
    b = maybe_unaccent(rec(g, f, dob_b_from(dob), sex, p2, s2))
    return a, b


def diff_common_name_same_dob():
    return common_pair(lambda d: d)


def diff_common_name_other_dob():
    def other(d):
        while True:
            nd = rand_date(1950, 2006)
            if abs(nd.year - d.year) >= 2 and nd.month != d.month:
                return nd
    return common_pair(other)


def diff_common_name_dob_one_digit():
    g, f, sex = rng.choice(COMMON_NAMES)
    dob = rand_date(1950, 2006)
    s = new_ssn4()
    a = rec(g, f, dob, sex, new_phone(), s)
    b = maybe_unaccent(rec(g, f, dob_one_digit(dob), sex, new_phone(), new_ssn4(avoid=(s,))))
    return a, b


def diff_same_name_different_sex():
    g, f = rng.choice(UNISEX)
    dob = rand_date(1955, 2006)
    s1, s2 = ssn_pair(both=0.5, one=0.3)
    a = rec(g, f, dob, "F", new_phone(), s1)
    b = maybe_unaccent(rec(g, f, dob, "M", new_phone(), s2))
    return (a, b) if rng.random() < 0.5 else (b, a)


def diff_placeholder_ssn_different_person():
    ph = "0000" if rng.random() < 0.8 else "9999"
    dob = rand_date(1955, 2006)
    a = person(dob=dob)
    if rng.random() < 0.3:  # same common family name too
        b = person(group=a["group"], family=a["family"], dob=dob)
        b["given"] = other_given(a["group"], b["sex"], a["given"])
    else:
        b = person(group=pick_group(), dob=dob)
    a["ssn4"] = b["ssn4"] = ph
    return a, b


_house_count = 0


def diff_shared_house_phone():
    # Unrelated residents of one sober-living house or shelter, one phone.
    phone = new_phone()
    a = person()
    global _house_count
    _house_count += 1
    same_given = _house_count % 3 == 0  # same given name, common in a large house
    while True:
        if same_given:
            b = person(group=a["group"], sex=a["sex"], given=a["given"])
        else:
            b = person(group=pick_group())
        if fold(b["family"]) != fold(a["family"]) and b["dob"].year != a["dob"].year:
            break
    a["phone"] = b["phone"] = phone
    if a["ssn4"] and a["ssn4"] == b["ssn4"]:
        b["ssn4"] = new_ssn4(avoid=(a["ssn4"],))
    return a, b


def diff_nickname_different_person():
    table, group = (NICK_EN, "anglo") if rng.random() < 0.5 else (NICK_ES, "hispanic")
    formal, sex, nicks = rng.choice(table)
    fam = rng.choice(HISPANIC_FAMILY[:12] if group == "hispanic" else ANGLO_FAMILY[:8])
    d1 = rand_date(1950, 2006)
    while True:
        d2 = rand_date(1950, 2006)
        if abs(d2.year - d1.year) >= 3:
            break
    s1, s2 = ssn_pair()
    a = rec(formal, fam, d1, sex, new_phone(), s1, group)
    b = rec(rng.choice(nicks), fam, d2, sex, new_phone(), s2, group)
    return (a, b) if rng.random() < 0.5 else (b, a)


def diff_similar_surname_other_person():
    f1, f2 = rng.choice(SIMILAR_SURNAMES)
    group = {"Chan": "chinese", "Lin": "chinese", "Phạm": "vietnamese", "Võ": "vietnamese",
             "Kim": "korean"}.get(f1, "hispanic")
    if f1 == "Lee":
        group = "vietnamese" if rng.random() < 0.5 else "anglo"
    sex = rng.choice("FM")
    g = given_for(group, sex)
    d1 = rand_date(1950, 2006)
    d2 = rand_date(d1.year - 4, d1.year + 4)
    if d2 == d1:
        d2 = shift_years(d1, 1)
    s1, s2 = ssn_pair()
    a = rec(g, f1, d1, sex, new_phone(), s1, group)
    b = rec(g, f2, d2, sex, new_phone(), s2, group)
    return (a, b) if rng.random() < 0.5 else (b, a)


def diff_unrelated():
    a = person()
    b = person()
    if a["ssn4"] and a["ssn4"] == b["ssn4"]:
        b["ssn4"] = new_ssn4(avoid=(a["ssn4"],))
    return a, b


DIFF_PLAN = [
    ("twins", diff_twins, 10),
    ("twins_similar_given", diff_twins_similar_given, 6),
    ("siblings_same_phone", diff_siblings_same_phone, 12),
    ("parent_child_same_name", diff_parent_child_same_name, 12),
    ("spouses_same_phone", diff_spouses_same_phone, 10),
    ("common_name_same_dob", diff_common_name_same_dob, 16),
    ("common_name_other_dob", diff_common_name_other_dob, 10),
    ("common_name_dob_one_digit", diff_common_name_dob_one_digit, 12),
    ("same_name_different_sex", diff_same_name_different_sex, 8),
    ("placeholder_ssn_different_person", diff_placeholder_ssn_different_person, 10),
    ("shared_house_phone", diff_shared_house_phone, 8),
    ("nickname_different_person", diff_nickname_different_person, 8),
    ("similar_surname_other_person", diff_similar_surname_other_person, 6),
    ("unrelated", diff_unrelated, 6),
]

# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def record(p):
    return [unicodedata.normalize("NFC", p["given"]), unicodedata.normalize("NFC", p["family"]),
            p["dob"].isoformat(), p["sex"], p["phone"], p["ssn4"]]


def check_row(label, kind, a, b):
    row = [label, kind] + record(a) + record(b)
    for v in row:
        assert "," not in v and '"' not in v and "\n" not in v and v == v.strip(), row
    for r in (a, b):
        assert r["given"] and r["family"], row
        assert r["sex"] in ("F", "M", "U"), row
        assert r["phone"] == "" or (len(r["phone"]) == 10 and r["phone"].isdigit()), row
        assert r["ssn4"] == "" or (len(r["ssn4"]) == 4 and r["ssn4"].isdigit()), row
        assert MIN_YEAR <= r["dob"].year <= MAX_YEAR, row
    if label == "same":
        sexes = {a["sex"], b["sex"]} - {"U"}
        assert len(sexes) <= 1, row
    else:
        assert record(a) != record(b), row
        if a["ssn4"] and a["ssn4"] == b["ssn4"]:
            assert a["ssn4"] in PLACEHOLDER_SSN, row
        if fold(a["given"] + a["family"]) == fold(b["given"] + b["family"]) and a["dob"] == b["dob"]:
            # Same name and birth date: something must tell them apart.
            assert (a["sex"] != b["sex"]
                    or (a["phone"] and b["phone"] and a["phone"] != b["phone"])
                    or (a["ssn4"] and b["ssn4"] and a["ssn4"] != b["ssn4"])), row
    return row


def main():
    rows = []
    for kinds, n in SAME_PLAN:
        for _ in range(n):
            label, kind, a, b = make_same(kinds)
            rows.append(check_row(label, kind, a, b))
    for kind, n in SPARSE_PLAN:
        for _ in range(n):
            label, kind_name, a, b = make_same_sparse(kind)
            rows.append(check_row(label, kind_name, a, b))
    for kind, fn, n in DIFF_PLAN:
        for _ in range(n):
            a, b = fn()
            rows.append(check_row("different", kind, a, b))

    with open(OUT, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(HEADER)
        w.writerows(rows)

    labels = Counter(r[0] for r in rows)
    kinds = Counter((r[0], r[1]) for r in rows)
    print("wrote %s: %d pairs" % (OUT, len(rows)))
    for label in ("same", "different"):
        print("%s: %d" % (label, labels[label]))
        for (l, k), n in kinds.items():
            if l == label:
                print("  %-45s %3d" % (k, n))


if __name__ == "__main__":
    main()
