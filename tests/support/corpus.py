"""A fixed bilingual corpus of model repositories for the search tests.

Each entry is what a model card says (front matter + body); `repo_docs()` turns the corpus into the
plain `RepoDoc`s the index takes (tags derived the way the registry derives them from the card),
and `readme()` renders an entry as the README.md a functional test uploads through the client.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import yaml

from search_index import RepoDoc

EPOCH = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class Entry:
    namespace: str
    name: str
    body: str
    license: list[str] = field(default_factory=list)
    task: str | None = None
    library: str | None = None
    languages: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    industries: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    downloads: int = 0
    likes: int = 0
    age_days: int = 0  # last modified this many days before EPOCH
    private: bool = False

    @property
    def repo_id(self) -> str:
        return f"{self.namespace}/{self.name}"

    def meta(self) -> dict:
        m: dict = {}
        if self.license:
            m["license"] = self.license[0] if len(self.license) == 1 else list(self.license)
        if self.languages:
            m["language"] = list(self.languages)
        if self.library:
            m["library_name"] = self.library
        if self.task:
            m["pipeline_tag"] = self.task
        if self.tags:
            m["tags"] = list(self.tags)
        if self.industries:
            m["industry"] = list(self.industries)
        if self.regions:
            m["region"] = list(self.regions)
        return m

    def derived_tags(self) -> list[str]:
        """As models_registry.cards.derive_tags: library, tags, task, languages, license:, region:, industry:."""
        tags = ([self.library] if self.library else []) + list(self.tags) + ([self.task] if self.task else [])
        tags += list(self.languages) + [f"license:{x.lower()}" for x in self.license]
        tags += [f"region:{x.lower()}" for x in self.regions] + [f"industry:{x.lower()}" for x in self.industries]
        return list(dict.fromkeys(tags))


E = Entry
CORPUS: list[Entry] = [
    # ---- large language models ----------------------------------------------------------------
    E("Qwen", "Qwen2.5-7B-Instruct",
      "# Qwen2.5-7B-Instruct\n\nQwen2.5 is the latest series of Qwen large language models, instruction tuned "
      "for chat, coding and mathematics, with long context support up to 128K tokens.\n\n"
      "通义千问 Qwen2.5 是阿里云研发的新一代大语言模型，支持中文和英文对话、代码生成与数学推理。\n",
      license=["apache-2.0"], task="text-generation", library="transformers", languages=["zh", "en"],
      tags=["llm", "chat"], downloads=900_000, likes=5_200, age_days=3),
    E("meta-llama", "Meta-Llama-3-8B",
      "# Meta Llama 3\n\nMeta Llama 3 is a family of large language models: pretrained and instruction tuned "
      "generative text models in 8B and 70B sizes, optimized for dialogue use cases in English.\n",
      license=["llama3"], task="text-generation", library="transformers", languages=["en"],
      tags=["llm", "facebook"], downloads=850_000, likes=6_100, age_days=40),
    E("THUDM", "chatglm3-6b",
      "# ChatGLM3-6B\n\nChatGLM3-6B 是智谱AI和清华大学 KEG 实验室联合发布的新一代对话预训练模型，"
      "是一个开源的中英双语大语言模型，具有对话流畅、部署门槛低等特点。\n",
      license=["apache-2.0"], task="text-generation", library="transformers", languages=["zh", "en"],
      tags=["llm", "glm"], downloads=420_000, likes=3_300, age_days=90),
    E("shenzhi-wang", "Llama3-8B-Chinese-Chat",
      "# Llama3-8B-Chinese-Chat\n\n基于 Meta-Llama-3-8B-Instruct 微调的中文对话模型，中文问答和角色扮演能力显著提升。\n\n"
      "A Chinese chat model fine-tuned from Llama 3 with ORPO.\n",
      license=["llama3"], task="text-generation", library="transformers", languages=["zh", "en"],
      tags=["llm", "orpo"], downloads=61_000, likes=650, age_days=30),
    E("baichuan-inc", "Baichuan2-13B-Chat",
      "# Baichuan 2\n\nBaichuan 2 是百川智能推出的新一代开源大语言模型，采用 2.6 万亿 Tokens 的高质量语料训练，"
      "在中文、英文权威基准上取得同尺寸最好效果。\n",
      license=["apache-2.0"], task="text-generation", library="transformers", languages=["zh", "en"],
      tags=["llm"], downloads=95_000, likes=420, age_days=200),
    E("01-ai", "Yi-34B",
      "# Yi\n\nThe Yi series models are large language models trained from scratch by 01.AI, "
      "bilingual in English and Chinese.\n",
      license=["apache-2.0"], task="text-generation", library="transformers", languages=["en", "zh"],
      tags=["llm"], downloads=77_000, likes=1_250, age_days=150),
    # ---- vision -------------------------------------------------------------------------------
    E("facebook", "detr-resnet-50",
      "# DETR\n\nDETR (End-to-End Object Detection) model with a ResNet-50 backbone, trained on COCO 2017. "
      "It detects objects in images with a transformer encoder-decoder.\n",
      license=["apache-2.0"], task="object-detection", library="transformers", languages=["en"],
      tags=["vision"], downloads=310_000, likes=700, age_days=400),
    E("google", "vit-base-patch16-224",
      "# Vision Transformer (base-sized model)\n\nVision Transformer (ViT) model pre-trained on ImageNet-21k and "
      "fine-tuned on ImageNet at resolution 224x224, for image classification.\n",
      license=["apache-2.0"], task="image-classification", library="transformers", languages=["en"],
      tags=["vision"], downloads=2_400_000, likes=780, age_days=500),
    E("openai", "clip-vit-large-patch14",
      "# CLIP\n\nThe CLIP model learns visual concepts from natural language supervision; zero-shot image "
      "classification by contrastive language-image pretraining.\n",
      license=["mit"], task="zero-shot-image-classification", library="transformers", languages=["en"],
      tags=["vision"], downloads=1_900_000, likes=1_600, age_days=450),
    E("ultralytics", "yolov8-defect",
      "# YOLOv8 defect\n\nA YOLOv8 object detector fine-tuned for surface defect detection on steel and PCB "
      "production lines: scratches, cracks and inclusions.\n",
      license=["agpl-3.0"], task="object-detection", library="ultralytics", languages=["en"],
      tags=["yolo", "manufacturing"], industries=["manufacturing"], downloads=12_000, likes=85, age_days=60),
    # ---- speech -------------------------------------------------------------------------------
    E("openai", "whisper-large-v3",
      "# Whisper\n\nWhisper is a pre-trained model for automatic speech recognition and speech translation, "
      "trained on 5 million hours of labelled audio.\n",
      license=["apache-2.0"], task="automatic-speech-recognition", library="transformers",
      languages=["en", "zh", "ja"], tags=["audio"], downloads=1_500_000, likes=3_900, age_days=100),
    E("iic", "paraformer-zh",
      "# Paraformer\n\nParaformer 是达摩院语音团队提出的非自回归端到端语音识别模型，适用于中文普通话语音识别，"
      "推理速度快、识别准确率高。\n",
      license=["apache-2.0"], task="automatic-speech-recognition", library="funasr", languages=["zh"],
      tags=["asr", "audio"], downloads=140_000, likes=310, age_days=80),
    E("fishaudio", "fish-speech-1.5",
      "# Fish Speech\n\nFish Speech 是多语种文本转语音 (TTS) 模型。Recognition of speech is not supported: it is a "
      "speech synthesis model for voice cloning and text to speech.\n",
      license=["cc-by-nc-sa-4.0"], task="text-to-speech", library="fish-speech", languages=["zh", "en", "ja"],
      tags=["tts", "audio"], downloads=45_000, likes=560, age_days=20),
    E("bench-lab", "asr-benchmark",
      "# ASR benchmark\n\nWe compare whisper, whisper large, distilled whisper and other whisper variants "
      "against classic systems; whisper whisper whisper.\n",
      license=["mit"], task="automatic-speech-recognition", library="espnet", languages=["en"],
      tags=["audio"], downloads=900, likes=4, age_days=10),
    # ---- embeddings ---------------------------------------------------------------------------
    E("BAAI", "bge-large-zh-v1.5",
      "# BGE\n\nBGE 是智源研究院发布的中文语义向量模型，可用于向量检索、语义相似度和重排序。"
      "A Chinese text embedding model for retrieval.\n",
      license=["mit"], task="feature-extraction", library="sentence-transformers", languages=["zh"],
      tags=["embedding"], downloads=520_000, likes=470, age_days=120),
    # ---- industry: manufacturing ----------------------------------------------------------------
    E("mfg-ai", "steel-surface-defect",
      "# 钢材表面缺陷检测\n\n钢材表面缺陷检测模型，用于工业质检场景，识别裂纹、划痕、夹杂和氧化皮等缺陷。"
      "Steel surface inspection.\n",
      license=["mit"], task="object-detection", library="pytorch", languages=["zh"],
      tags=["质检", "manufacturing"], industries=["manufacturing"], regions=["cn"],
      downloads=8_400, likes=66, age_days=5),
    E("mfg-ai", "pcb-inspection",
      "# PCB 外观检测\n\n印刷电路板外观缺陷检测模型，部署在产线上进行自动光学检测，发现焊点缺陷和短路。\n",
      license=["apache-2.0"], task="object-detection", library="pytorch", languages=["zh"],
      tags=["质检", "manufacturing"], industries=["manufacturing"], regions=["cn"],
      downloads=5_100, likes=41, age_days=7),
    # ---- industry: healthcare -------------------------------------------------------------------
    E("med-ai", "chest-xray-report",
      "# 胸部X光报告生成\n\n基于医学影像的胸部X光报告生成模型，辅助放射科医生撰写诊断报告。"
      "Chest radiograph report generation.\n",
      license=["cc-by-nc-4.0"], task="image-to-text", library="transformers", languages=["zh"],
      tags=["医疗", "healthcare", "radiology"], industries=["healthcare"], regions=["cn"],
      downloads=3_300, likes=52, age_days=12),
    E("med-ai", "medical-image-segmentation",
      "# 医疗影像分割\n\n医疗影像分割模型：在 CT 和 MRI 图像上进行器官与病灶分割。"
      "Medical image segmentation for CT and MRI.\n",
      license=["apache-2.0"], task="image-segmentation", library="monai", languages=["zh", "en"],
      tags=["医疗", "healthcare"], industries=["healthcare"], regions=["cn"],
      downloads=6_700, likes=73, age_days=14),
    E("med-ai", "clinical-bert-zh",
      "# 中文临床 BERT\n\n中文临床医学文本预训练语言模型，适用于电子病历命名实体识别和医学问答。\n",
      license=["mit"], task="fill-mask", library="transformers", languages=["zh"],
      tags=["医疗", "healthcare"], industries=["healthcare"], regions=["cn"],
      downloads=2_900, likes=38, age_days=25),
    E("med-ai", "ehr-private-notes",
      "# 私有病历模型\n\n内部使用的电子病历结构化模型，尚未公开。\n",
      license=["mit"], task="token-classification", library="transformers", languages=["zh"],
      tags=["医疗", "healthcare"], industries=["healthcare"], regions=["cn"],
      downloads=10, likes=0, age_days=1, private=True),
    # ---- industry: finance ----------------------------------------------------------------------
    E("fin-ai", "finbert-zh-sentiment",
      "# 金融情感分析\n\n金融新闻情感分析模型，判断财经文本的正面、负面和中性情绪。\n",
      license=["apache-2.0"], task="text-classification", library="transformers", languages=["zh"],
      tags=["金融", "finance"], industries=["finance"], regions=["cn"],
      downloads=7_700, likes=58, age_days=33),
    E("fin-ai", "fraud-detection-tabular",
      "# Fraud detection\n\nCredit card fraud detection model for banking transactions, trained with "
      "gradient boosting on tabular features.\n",
      license=["mit"], task="tabular-classification", library="sklearn", languages=["en"],
      tags=["finance"], industries=["finance"], regions=["us"],
      downloads=1_200, likes=19, age_days=45),
    # ---- industry: government -------------------------------------------------------------------
    E("gov-ai", "policy-qa",
      "# 政务问答\n\n政务问答模型：回答政策法规、办事指南等政务服务问题，支持多轮对话。\n",
      license=["apache-2.0"], task="question-answering", library="transformers", languages=["zh"],
      tags=["政务", "government"], industries=["government"], regions=["cn"],
      downloads=2_200, likes=27, age_days=18),
    E("gov-ai", "document-ocr-zh",
      "# 公文 OCR\n\n公文文字识别模型，识别政府公文中的印刷体和手写体汉字，输出结构化文本。\n",
      license=["apache-2.0"], task="image-to-text", library="paddleocr", languages=["zh"],
      tags=["ocr", "government"], industries=["government"], regions=["cn"],
      downloads=4_600, likes=49, age_days=22),
    # ---- industry: agriculture, and a card that only mentions healthcare ----------------------
    E("agri-ai", "crop-disease",
      "# 农作物病虫害识别\n\n农作物病虫害图像识别模型，支持水稻、小麦、玉米等常见病害。Crop disease "
      "classification from leaf photos.\n",
      license=["mit"], task="image-classification", library="timm", languages=["zh", "en"],
      tags=["agriculture"], industries=["agriculture"], regions=["cn"],
      downloads=1_800, likes=22, age_days=16),
    E("data-tools", "tabular-toolkit",
      "# Tabular toolkit\n\nGeneric gradient boosting baselines for tabular data. Users have applied it in "
      "healthcare, retail and logistics; healthcare healthcare healthcare examples are in the docs.\n",
      license=["mit"], task="tabular-regression", library="sklearn", languages=["en"],
      tags=["tabular"], downloads=650, likes=9, age_days=9),
    E("web-sec", "script-card",
      "# Unsafe card\n\nThis card embeds <script>alert('xss')</script> and shows `</script>` beside "
      "xsscanary and `<img src=x onerror=alert(1)>` as code & an ampersand.\n",
      license=["mit"], task="text-classification", library="transformers", languages=["en"],
      tags=["security"], downloads=70, likes=1, age_days=2),
]


def by_id() -> dict[str, Entry]:
    return {e.repo_id: e for e in CORPUS}


def repo_doc(e: Entry, pk: int) -> RepoDoc:
    modified = EPOCH - dt.timedelta(days=e.age_days)
    return RepoDoc(
        pk=pk, repo_type="model", namespace=e.namespace, name=e.name, private=e.private, card_text=e.body,
        tags=e.derived_tags(), licenses=[x.lower() for x in e.license], task=e.task, library=e.library,
        languages=list(e.languages), regions=[x.lower() for x in e.regions],
        industries=[x.lower() for x in e.industries], downloads=e.downloads, likes=e.likes,
        trending=e.likes / 10.0, last_modified=modified, created_at=modified - dt.timedelta(days=30),
    )


def repo_docs() -> list[RepoDoc]:
    """The corpus as index documents, pk 1..N in corpus order."""
    return [repo_doc(e, i) for i, e in enumerate(CORPUS, start=1)]


def readme(e: Entry, extra_tags: list[str] = (), body_suffix: str = "") -> str:
    meta = e.meta()
    if extra_tags:
        meta["tags"] = list(meta.get("tags", [])) + list(extra_tags)
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    return f"---\n{front}---\n{e.body}{body_suffix}"
