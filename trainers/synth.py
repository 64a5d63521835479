"""Small generated, learnable datasets for the four tasks (tests, benchmark, demos). Pure Python.

Every generator is seeded and returns rows ready for :func:`write_tsv` / :func:`write_jsonl`.
The label is decided by a few keywords buried in filler text, so a tiny model learns it
quickly while a majority-class baseline stays far behind.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence

POS = ["great", "wonderful", "excellent", "lovely", "superb", "brilliant", "amazing", "pleasant"]
NEG = ["awful", "terrible", "horrible", "dreadful", "boring", "poor", "nasty", "bad"]
NEU = ["average", "ordinary", "typical", "usual", "standard", "moderate"]
NOUNS = ["movie", "film", "book", "meal", "show", "hotel", "trip", "game", "song", "album"]
FILLER = [
    "the",
    "a",
    "we",
    "they",
    "it",
    "was",
    "really",
    "quite",
    "and",
    "then",
    "after",
    "before",
    "with",
    "some",
    "friends",
    "at",
    "night",
    "today",
    "yesterday",
    "very",
    "of",
    "our",
    "my",
    "time",
    "in",
    "town",
]
TOPICS = {
    "sports": ["football", "match", "goal", "team", "coach"],
    "tech": ["computer", "software", "phone", "chip", "code"],
    "food": ["pizza", "bread", "soup", "cheese", "salad"],
    "travel": ["flight", "beach", "passport", "museum", "island"],
}
PER = ["alice", "bob", "carol", "david", "emma", "frank", "grace", "henry", "irene", "jack"]
LOC = ["paris", "london", "berlin", "tokyo", "madrid", "rome", "oslo", "cairo", "lima", "delhi"]
ORG = ["acme", "globex", "initech", "umbrella", "hooli", "vandelay"]


def _filler(rng: random.Random, n: int) -> list[str]:
    return [rng.choice(FILLER) for _ in range(n)]


def classification(
    n: int,
    seed: int = 0,
    long_frac: float = 0.0,
    long_len: int = 100,
    weights: Sequence[float] = (0.5, 0.3, 0.2),
    sort_by_label: bool = True,
) -> list[dict]:
    """3-way sentiment: pos / neg / neutral by one adjective among filler words.

    ``long_frac`` of the rows get ``long_len`` extra filler words (skewed lengths).
    Rows are sorted by label when ``sort_by_label`` (as real files often are).
    """
    rng = random.Random(seed)
    rows = []
    names = ["pos", "neg", "neutral"]
    for _ in range(n):
        lab = rng.choices(names, weights=weights)[0]
        adj = rng.choice({"pos": POS, "neg": NEG, "neutral": NEU}[lab])
        words = _filler(rng, rng.randint(2, 6)) + [rng.choice(NOUNS), "was", adj] + _filler(rng, rng.randint(2, 6))
        if long_frac and rng.random() < long_frac:
            words += _filler(rng, long_len)
        rows.append({"text": " ".join(words), "label": lab})
    if sort_by_label:
        rows.sort(key=lambda r: r["label"])
    return rows


def pair(n: int, seed: int = 0) -> list[dict]:
    """Sentence pairs: ``same`` when both mention the same topic noun, else ``different``."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        a = rng.choice(NOUNS)
        same = rng.random() < 0.5
        b = a if same else rng.choice([x for x in NOUNS if x != a])
        rows.append(
            {
                "text": " ".join(_filler(rng, 2) + ["the", a] + _filler(rng, 2)),
                "text_pair": " ".join(_filler(rng, 2) + ["about", b] + _filler(rng, 2)),
                "label": "same" if same else "different",
            }
        )
    return rows


def multilabel(n: int, seed: int = 0) -> list[dict]:
    """Texts mentioning 1-2 topics; labels = the topics mentioned."""
    rng = random.Random(seed)
    names = sorted(TOPICS)
    rows = []
    for _ in range(n):
        k = rng.choice([1, 1, 2])
        labs = sorted(rng.sample(names, k))
        words = _filler(rng, 3)
        for lab in labs:
            words += [rng.choice(TOPICS[lab])] + _filler(rng, 2)
        rows.append({"text": " ".join(words), "labels": labs})
    return rows


def ner(n: int, seed: int = 0) -> list[dict]:
    """Sentences with PER / LOC / ORG entities (ORG may span two tokens) and BIO tags."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        toks, tags = [], []

        def add(words, tag, toks=toks, tags=tags):
            toks.extend(words)
            tags.extend(tag if isinstance(tag, list) else [tag] * len(words))

        add(_filler(rng, rng.randint(0, 2)), "O")
        add([rng.choice(PER)], "B-PER")
        add(["lives", "in"], "O")
        add([rng.choice(LOC)], "B-LOC")
        if rng.random() < 0.6:
            add(["and", "works", "for"], "O")
            org = [rng.choice(ORG)] + (["corp"] if rng.random() < 0.5 else [])
            add(org, ["B-ORG"] + ["I-ORG"] * (len(org) - 1))
        add(_filler(rng, rng.randint(0, 2)), "O")
        rows.append({"tokens": toks, "tags": tags})
    return rows


def write_tsv(rows: list[dict], path, task: str = "classification", header: bool = True) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        if task == "ner":
            for r in rows:
                fh.write(" ".join(r["tokens"]) + "\t" + " ".join(r["tags"]) + "\n")
            return
        cols = ["text", "text_pair", "label"] if task == "pair" else ["text", "label"]
        if header:
            fh.write("\t".join(cols) + "\n")
        for r in rows:
            vals = [r[c] if c != "label" or task != "multilabel" else ",".join(r["labels"]) for c in cols]
            if task == "multilabel":
                vals = [r["text"], ",".join(r["labels"])]
            fh.write("\t".join(vals) + "\n")


def write_jsonl(rows: list[dict], path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def write_conll(rows: list[dict], path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            for t, g in zip(r["tokens"], r["tags"]):
                fh.write(f"{t}\t{g}\n")
            fh.write("\n")


WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
]


def seq2seq(n: int, seed: int = 0, kind: str = "reverse", min_len: int = 3, max_len: int = 6) -> list[dict]:
    """Copy or reverse a random sequence of code words: ``{"text": ..., "target": ...}``."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        w = [rng.choice(WORDS) for _ in range(rng.randint(min_len, max_len))]
        rows.append({"text": " ".join(w), "target": " ".join(reversed(w) if kind == "reverse" else w)})
    return rows


def span_squad(n: int, seed: int = 0, context_words: tuple[int, int] = (20, 70)) -> dict:
    """SQuAD-style JSON: filler contexts hiding "the code is WORD ." - the answer is WORD.

    Contexts are long enough (with a short ``max_seq_length``) to need several windows.
    """
    rng = random.Random(seed)
    paragraphs = []
    for i in range(n):
        words = _filler(rng, rng.randint(*context_words))
        pos = rng.randint(0, len(words))
        answer = rng.choice(WORDS)
        before = " ".join(words[:pos] + ["the", "code", "is"])
        context = before + " " + answer + " . " + " ".join(words[pos:])
        start = len(before) + 1
        assert context[start : start + len(answer)] == answer
        q = rng.choice(["what is the code", "which code is it", "tell me the code"])
        paragraphs.append(
            {
                "context": context.strip(),
                "qas": [{"id": f"q{i}", "question": q, "answers": [{"text": answer, "answer_start": start}]}],
            }
        )
    return {"version": "synth", "data": [{"title": "synth", "paragraphs": paragraphs}]}


# ------------------------------------------------------------------ character-level Chinese NER
# A stand-in for an MSRA/People's-Daily-style corpus (none is available offline): names,
# places and organisations composed from common characters, in varied sentence contexts.
# Train and dev draw their entities from disjoint pools (dev entities are mostly unseen in
# train, as in a real split); contexts come from the same templates with random clauses.
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏辉飞鑫波宁浩凯建国志文斌新海峰宇晨"
    "欣怡子涵梓萱雨轩浩然思远嘉琪家豪俊熙天佑博文晓东亚楠立群春梅秋菊德胜永福长青正阳世杰光明少华振华"
)
_PLACE = "江河湖山海宁安平阳东西南北中新华长青永兴泰和昌丰临清城云松石龙凤金水宝福德广武兰春"
_LOC_SUFFIX = ["市", "省", "县", "镇", "村", "区", "山", "河", "湖", "路", "街道", "港", "湾", "岛"]
_ORG_STEM = "华中国远东方科技信达恒通联创新宏盛泰康瑞安民生兴业光明海天博雅力合众诚鼎隆"
_ORG_SUFFIX = [
    "公司",
    "集团",
    "大学",
    "银行",
    "医院",
    "研究所",
    "委员会",
    "协会",
    "中学",
    "出版社",
    "电视台",
    "报社",
    "科技有限公司",
    "人民政府",
    "博物馆",
]
_CLAUSES = [
    "据悉",
    "记者了解到",
    "昨天上午",
    "近日",
    "今年以来",
    "与此同时",
    "值得一提的是",
    "另据报道",
    "目前",
    "在会上",
    "截至发稿时",
    "上周末",
    "据统计",
    "总的来看",
    "此外",
    "次日",
    "当天下午",
]
_TAILS = [
    "，受到各界关注。",
    "，引起了广泛讨论。",
    "。",
    "，进展顺利。",
    "，现场气氛热烈。",
    "，相关工作仍在进行中。",
    "，这是近年来的第一次。",
    "，得到了群众的好评。",
    "，具体细节尚未公布。",
    "。",
]
_TEMPLATES = [
    "{PER}在{LOC}的{ORG}工作",
    "{ORG}的负责人{PER}表示将加大投入",
    "{PER}昨日抵达{LOC}进行考察",
    "{PER}和{PER}一起参观了{ORG}",
    "来自{LOC}的{PER}获得了冠军",
    "{ORG}在{LOC}举办了大型活动",
    "{LOC}与{LOC}签署了合作协议",
    "{PER}当选为{ORG}新一任主席",
    "{ORG}宣布在{LOC}设立分部",
    "{PER}出生于{LOC}，后来进入{ORG}学习",
    "记者在{LOC}采访了{PER}",
    "{ORG}和{ORG}联合发布了报告",
    "{PER}说，{LOC}的变化很大",
    "{LOC}的居民纷纷来到{ORG}咨询",
    "{PER}向{ORG}捐赠了一批图书",
    "{ORG}派出专家前往{LOC}支援",
    "{PER}从{LOC}出发前往{LOC}",
    "在{LOC}召开的会议上，{PER}作了发言",
    "{ORG}的研究人员{PER}发表了论文",
    "游客在{LOC}游览时遇到了{PER}",
    "{PER}担任{ORG}的顾问已有多年",
    "{LOC}今年的经济增长超过预期",
    "{ORG}今天发布了新的规定",
    "{PER}的家乡在{LOC}",
    "{PER}、{PER}和{PER}等人出席",
    "{LOC}{ORG}",
    "{ORG}{PER}",
    "{PER}{LOC}行",
    "关于{LOC}问题，{PER}没有回应",
    "{ORG}与{LOC}方面达成一致",
    "{PER}认为{ORG}的做法值得借鉴",
    "在{ORG}，{PER}是最年轻的成员",
    "{LOC}、{LOC}等地出现降雨",
    "{PER}曾在{ORG}和{ORG}任职",
    "据{ORG}统计，{LOC}人口持续增长",
]


def _entity_pools(rng: random.Random, n_per: int) -> dict[str, list[str]]:
    pools: dict[str, set[str]] = {"PER": set(), "LOC": set(), "ORG": set()}
    while len(pools["PER"]) < n_per:
        pools["PER"].add(rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2, 2)))))
    while len(pools["LOC"]) < n_per:
        pools["LOC"].add("".join(rng.choice(_PLACE) for _ in range(rng.choice((1, 2, 2, 3)))) + rng.choice(_LOC_SUFFIX))
    while len(pools["ORG"]) < n_per:
        stem = "".join(rng.choice(_ORG_STEM) for _ in range(rng.choice((2, 2, 3, 4))))
        if rng.random() < 0.3:  # "<place> + stem": an organisation named after a place
            stem = "".join(rng.choice(_PLACE) for _ in range(2)) + stem
        pools["ORG"].add(stem + rng.choice(_ORG_SUFFIX))
    return {k: sorted(v) for k, v in pools.items()}


_COMMON = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产"
    "种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应"
    "开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严"
)


def _noise(rng: random.Random) -> str:
    """A clause of random common characters: context that no template predicts."""
    return "".join(rng.choice(_COMMON) for _ in range(rng.randint(3, 9)))


def _zh_sentence(rng: random.Random, pools: dict[str, list[str]]) -> dict:
    chars: list[str] = []
    tags: list[str] = []

    def plain(text: str) -> None:
        chars.extend(text)
        tags.extend("O" * len(text))

    if rng.random() < 0.5:
        plain(rng.choice(_CLAUSES) + "，")
    if rng.random() < 0.4:
        plain(_noise(rng) + "，")
    for n_clause in range(rng.choice((1, 1, 2))):
        if n_clause:
            plain(rng.choice(("，", "；", "，随后", "，同时")))
        template = rng.choice(_TEMPLATES)
        for piece in re.split(r"(\{PER\}|\{LOC\}|\{ORG\})", template):
            if piece in ("{PER}", "{LOC}", "{ORG}"):
                kind = piece[1:-1]
                name = rng.choice(pools[kind])
                chars.extend(name)
                tags.extend([f"B-{kind}"] + [f"I-{kind}"] * (len(name) - 1))
            elif piece:
                plain(piece)
    if rng.random() < 0.4:
        plain("，" + _noise(rng))
    plain(rng.choice(_TAILS))
    return {"tokens": chars, "tags": tags}


def chinese_ner(
    n_train: int = 5000, n_dev: int = 1000, seed: int = 0, seen_dev: float = 0.15
) -> tuple[list[dict], list[dict]]:
    """(train, dev) character-level Chinese NER sentences with PER / LOC / ORG BIO tags.

    Train sentences take entities from one pool, dev sentences from a disjoint pool except for
    a ``seen_dev`` share of mentions drawn from the train pool: dev entities are mostly unseen,
    so a model must generalise from characters and context, not memorise names.
    """
    rng = random.Random(seed)
    train_pool = _entity_pools(rng, 1500)
    dev_pool = _entity_pools(random.Random(seed + 1), 800)
    dev_pool = {k: [e for e in v if e not in set(train_pool[k])] for k, v in dev_pool.items()}
    train = [_zh_sentence(rng, train_pool) for _ in range(n_train)]
    dev = []
    for _ in range(n_dev):
        dev.append(_zh_sentence(rng, train_pool if rng.random() < seen_dev else dev_pool))
    return train, dev
