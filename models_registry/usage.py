""""Use this model": the code a reader copies to load a repository with its own library.

Chosen as the Hub chooses it, from the card's `library_name` (and a `gguf` tag), then `pipeline_tag`:
a transformers model with a task gets that task's pipeline and the Auto class of its head, not a bare
`AutoModel` for every task. Every snippet starts by pointing huggingface_hub (which all these
libraries download through) at this hub, since HF_ENDPOINT is read when it is imported.
Plain strings: the page shows them, no HTML is built here.
"""

from __future__ import annotations

from dataclasses import dataclass

# pipeline_tag -> (preprocessor class, model class) for `transformers`. Tasks that `pipeline()` knows
# and whose head has one obvious Auto class; other known tasks get the pipeline only.
TRANSFORMERS_CLASSES: dict[str, tuple[str, str]] = {
    "text-classification": ("AutoTokenizer", "AutoModelForSequenceClassification"),
    "zero-shot-classification": ("AutoTokenizer", "AutoModelForSequenceClassification"),
    "token-classification": ("AutoTokenizer", "AutoModelForTokenClassification"),
    "question-answering": ("AutoTokenizer", "AutoModelForQuestionAnswering"),
    "fill-mask": ("AutoTokenizer", "AutoModelForMaskedLM"),
    "text-generation": ("AutoTokenizer", "AutoModelForCausalLM"),
    "summarization": ("AutoTokenizer", "AutoModelForSeq2SeqLM"),
    "translation": ("AutoTokenizer", "AutoModelForSeq2SeqLM"),
    "text2text-generation": ("AutoTokenizer", "AutoModelForSeq2SeqLM"),
    "feature-extraction": ("AutoTokenizer", "AutoModel"),
    "image-classification": ("AutoImageProcessor", "AutoModelForImageClassification"),
    "object-detection": ("AutoImageProcessor", "AutoModelForObjectDetection"),
    "image-segmentation": ("AutoImageProcessor", "AutoModelForImageSegmentation"),
    "depth-estimation": ("AutoImageProcessor", "AutoModelForDepthEstimation"),
    "automatic-speech-recognition": ("AutoProcessor", "AutoModelForSpeechSeq2Seq"),
    "audio-classification": ("AutoFeatureExtractor", "AutoModelForAudioClassification"),
    "image-text-to-text": ("AutoProcessor", "AutoModelForImageTextToText"),
}
PIPELINE_ONLY = {"text-to-speech", "text-to-audio", "image-to-text", "visual-question-answering",
                 "zero-shot-image-classification", "zero-shot-object-detection", "mask-generation",
                 "document-question-answering", "video-classification", "image-feature-extraction"}

# An example input per task, so that the pipeline line is a complete call.
EXAMPLE_INPUT: dict[str, str] = {
    "text-classification": '"I like this model."',
    "zero-shot-classification": '"I like this model.", candidate_labels=["praise", "complaint"]',
    "token-classification": '"My name is Wolfgang and I live in Berlin."',
    "question-answering": 'question="Where do I live?", context="My name is Wolfgang and I live in Berlin."',
    "fill-mask": None,  # the mask token differs by model
    "text-generation": '"Once upon a time,"',
    "summarization": '"A long article to summarise..."',
    "translation": '"How old are you?"',
    "text2text-generation": '"How old are you?"',
    "feature-extraction": '"An example sentence."',
    "image-classification": '"cat.jpg"',
    "object-detection": '"street.jpg"',
    "image-segmentation": '"street.jpg"',
    "depth-estimation": '"room.jpg"',
    "automatic-speech-recognition": '"speech.wav"',
    "audio-classification": '"sound.wav"',
    "text-to-speech": '"Hello, world."',
    "text-to-audio": '"Hello, world."',
    "image-to-text": '"photo.jpg"',
}


# Libraries whose snippet names a weights file of the repository (the caller lists its top-level files).
WEIGHTS_FILE_LIBRARIES = frozenset({"ultralytics", "gguf", "llama.cpp"})


@dataclass(frozen=True)
class UsageSnippet:
    library: str  # what the snippet uses, as its users name it ("transformers", "llama.cpp", ...)
    code: str


def _endpoint(base_url: str) -> str:
    return f'import os\nos.environ["HF_ENDPOINT"] = "{base_url}"\n'


def _first(files: list[str], suffixes: tuple[str, ...]) -> str | None:
    return next((f for f in sorted(files) if f.lower().endswith(suffixes)), None)


def _transformers(repo_id: str, task: str | None) -> str:
    lines: list[str] = []
    if task in TRANSFORMERS_CLASSES or task in PIPELINE_ONLY:
        example = EXAMPLE_INPUT.get(task)
        lines += ["from transformers import pipeline", "",
                  f'pipe = pipeline("{task}", model="{repo_id}")']
        if example:
            lines.append(f"result = pipe({example})")
    if task in TRANSFORMERS_CLASSES:
        pre, model = TRANSFORMERS_CLASSES[task]
        lines += ["", "# Or load the model directly", f"from transformers import {pre}, {model}", "",
                  f'{_var(pre)} = {pre}.from_pretrained("{repo_id}")',
                  f'model = {model}.from_pretrained("{repo_id}")']
    if not lines:  # no task, or one transformers has no pipeline for: the base model
        lines = ["from transformers import AutoModel, AutoTokenizer", "",
                 f'tokenizer = AutoTokenizer.from_pretrained("{repo_id}")',
                 f'model = AutoModel.from_pretrained("{repo_id}")']
    return "\n".join(lines)


def _var(cls: str) -> str:
    """AutoImageProcessor -> processor, AutoTokenizer -> tokenizer: the name the docs use."""
    return {"AutoTokenizer": "tokenizer", "AutoFeatureExtractor": "feature_extractor"}.get(cls, "processor")


def usage_snippet(repo_id: str, library: str | None, task: str | None, tags: list[str], base_url: str,
                  files: list[str] | None = None) -> UsageSnippet:
    """The snippet for a repository: its library's, or huggingface_hub's download when the library is
    unknown. `files` (the top-level file names) lets weights-file libraries name the file to load."""
    lib = (library or "").lower()
    tagset = {t.lower() for t in tags}
    files = files or []
    head = _endpoint(base_url) + "\n"
    if lib == "transformers":
        return UsageSnippet("transformers", head + _transformers(repo_id, task))
    if lib == "sentence-transformers":
        return UsageSnippet("sentence-transformers", head + "\n".join([
            "from sentence_transformers import SentenceTransformer", "",
            f'model = SentenceTransformer("{repo_id}")',
            'embeddings = model.encode(["The weather is lovely today.", "It is so sunny outside!"])',
            "similarities = model.similarity(embeddings, embeddings)"]))
    if lib == "diffusers":
        return UsageSnippet("diffusers", head + "\n".join([
            "from diffusers import DiffusionPipeline", "",
            f'pipe = DiffusionPipeline.from_pretrained("{repo_id}")',
            'image = pipe("An astronaut riding a horse on the moon").images[0]']))
    if lib == "ultralytics":
        weights = _first(files, (".pt",)) or "model.pt"
        return UsageSnippet("ultralytics", head + "\n".join([
            "from huggingface_hub import hf_hub_download",
            "from ultralytics import YOLO", "",
            f'model = YOLO(hf_hub_download("{repo_id}", "{weights}"))',
            'results = model("image.jpg")']))
    if lib == "timm":
        return UsageSnippet("timm", head + "\n".join([
            "import timm", "",
            f'model = timm.create_model("hf-hub:{repo_id}", pretrained=True)',
            "model = model.eval()"]))
    if lib in ("gguf", "llama.cpp", "llama-cpp-python") or "gguf" in tagset or _first(files, (".gguf",)):
        gguf = _first(files, (".gguf",)) or "*.gguf"
        return UsageSnippet("llama.cpp", head + "\n".join([
            "from llama_cpp import Llama  # pip install llama-cpp-python", "",
            f'llm = Llama.from_pretrained(repo_id="{repo_id}", filename="{gguf}")',
            'output = llm("Once upon a time,", max_tokens=64)']))
    return UsageSnippet("huggingface_hub", head + "\n".join([
        "from huggingface_hub import snapshot_download",
        f'path = snapshot_download("{repo_id}")']))
