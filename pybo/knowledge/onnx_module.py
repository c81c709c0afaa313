"""The embedder on ONNX Runtime: export, int8 quantization and a LangChain embeddings class.

`optimum` (what sentence-transformers' own `backend="onnx"` needs) does not work with
the pinned transformers 5.x, so the export is done here with `torch.onnx.export`
(TorchScript exporter) and quantized with `onnxruntime.quantization.quantize_dynamic`.
The files land where sentence-transformers' ONNX backend looks for them:

    <model>/onnx/model.onnx                       fp32, output `last_hidden_state`
    <model>/onnx/model_qint8_avx512_vnni.onnx     dynamic int8, s8 weights (VNNI CPUs)
    <model>/onnx/model_qint8_arm64.onnx           dynamic int8, s8 weights (ARM)
    <model>/onnx/model_quint8_avx2.onnx           dynamic int8, u8 weights (AVX2 only)

The int8 variant is chosen for the CPU that runs the export: s8 weights are ~2.5x
faster than u8 ones where the CPU multiplies u8 x s8 natively (VNNI, ARM dot product),
but on AVX2 without VNNI they can saturate, so there the u8 file is written (slower,
safe). Loading takes the file for this CPU, else any int8 file present.

`OnnxEmbeddings` reproduces `SentenceTransformer.encode` of the folder (same tokenizer,
truncation at `max_seq_length`, pooling from `1_Pooling/config.json`, normalization)
on an onnxruntime session, so its vectors equal the torch ones up to quantization.

Heavy imports (torch, transformers, onnxruntime) happen inside the functions.
"""

import json
import logging
import os
import warnings
from pathlib import Path

log = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "onnx", "onnx-int8")
FP32_FILE = "onnx/model.onnx"
INT8_FILES = {
    "avx512_vnni": "onnx/model_qint8_avx512_vnni.onnx",
    "arm64": "onnx/model_qint8_arm64.onnx",
    "avx2": "onnx/model_quint8_avx2.onnx",
}
OPSET = 17


def cpu_int8_variant():
    """ "arm64", "avx512_vnni" (x86 with VNNI) or "avx2" (any other x86)."""
    import platform

    if platform.machine().lower() in ("arm64", "aarch64"):
        return "arm64"
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        flags = ""
    return "avx512_vnni" if ("avx512_vnni" in flags or "avx_vnni" in flags) else "avx2"


def export_path(location, backend, variant=None):
    """The file `backend` ("onnx" or "onnx-int8") loads from the model folder: for int8,
    the variant for this CPU, else any int8 file present, else the one to write."""
    location = Path(location)
    if backend != "onnx-int8":
        return location / FP32_FILE
    preferred = location / INT8_FILES[variant or cpu_int8_variant()]
    if variant or preferred.is_file():
        return preferred
    present = [location / name for name in INT8_FILES.values() if (location / name).is_file()]
    return present[0] if present else preferred


def has_export(location, backend="onnx-int8"):
    return export_path(location, backend).is_file()


def choose_backend(preference, location, device):
    """The backend to load: `auto` is onnx-int8 on CPU when the export exists, else torch
    (and always torch on a GPU)."""
    if preference not in BACKENDS:
        choices = ", ".join(BACKENDS)
        raise ValueError(f"EMBEDDING_BACKEND must be one of {choices}, not {preference!r}")
    if preference != "auto":
        return preference
    if device == "cpu" and has_export(location, "onnx-int8"):
        return "onnx-int8"
    return "torch"


def _read_json(path, default=None):
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else default


def _transformer_inputs(tokenizer):
    names = ["input_ids", "attention_mask"]
    if "token_type_ids" in tokenizer.model_input_names:
        names.append("token_type_ids")
    return names


def _replace(tmp, final):
    os.replace(tmp, final)  # readers never see a half-written file


def export(location, progress=None, force=False):
    """Write the fp32 and int8 ONNX files next to the model in `location`.

    `progress(message)` receives short Korean steps. Returns the two paths. Skips a file
    that already exists unless `force`."""
    say = progress or (lambda message: None)
    location = Path(location)
    variant = cpu_int8_variant()
    fp32, int8 = export_path(location, "onnx"), export_path(location, "onnx-int8", variant)
    fp32.parent.mkdir(parents=True, exist_ok=True)
    if force or not fp32.is_file():
        say("1/2 ONNX 변환 중 (fp32)...")
        _export_fp32(location, fp32)
    else:
        say("1/2 ONNX fp32 파일이 이미 있습니다.")
    if force or not int8.is_file():
        say("2/2 int8 양자화 중...")
        _quantize(fp32, int8, signed=variant != "avx2")
    else:
        say("2/2 int8 파일이 이미 있습니다.")
    return fp32, int8


def _export_fp32(location, target):
    from pybo.knowledge.providers import IMPORT_LOCK, heavy

    torch = heavy("torch")
    AutoModel, AutoTokenizer = heavy("transformers", "AutoModel", "AutoTokenizer")  # noqa: N806
    with IMPORT_LOCK:  # see providers.IMPORT_LOCK: one model build at a time
        tokenizer = AutoTokenizer.from_pretrained(str(location))
        model = AutoModel.from_pretrained(str(location), dtype=torch.float32)
    model.eval()
    names = _transformer_inputs(tokenizer)

    class LastHidden(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *inputs):
            return self.inner(**dict(zip(names, inputs, strict=True))).last_hidden_state

    sample = tokenizer(["한국어 문장 예시입니다.", "두 번째"], padding=True, return_tensors="pt")
    args = tuple(sample[name] for name in names)
    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    axes["last_hidden_state"] = {0: "batch", 1: "sequence"}
    tmp = target.with_name(target.name + ".tmp")
    # The TorchScript exporter (dynamo=False) is deprecated since torch 2.9; the dynamo one
    # needs onnxscript and torch.export support for the model. Revisit on a torch upgrade.
    # Its tracer warns about the mask's Python branches: for an encoder they are constant
    # (the mask always spans the sequence), and tests/test_embedder.py compares the
    # export with torch on batches of other sizes and lengths. Keep the CLI output clean.
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHidden(model),
            args,
            str(tmp),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    _replace(tmp, target)


def _quantize(source, target, signed=True):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_name(target.name + ".tmp")
    root = logging.getLogger()
    root.addFilter(_skip_preprocess_advice)  # an English hint on the admin's Korean CLI
    try:
        quantize_dynamic(
            str(source),
            str(tmp),
            weight_type=QuantType.QInt8 if signed else QuantType.QUInt8,
            op_types_to_quantize=["MatMul", "Gemm"],
            per_channel=False,
            reduce_range=False,
        )
    finally:
        root.removeFilter(_skip_preprocess_advice)
    _replace(tmp, target)


def _skip_preprocess_advice(record):
    return "pre-processing before quantization" not in record.getMessage()


def _pooling_mode(location):
    config = _read_json(Path(location) / "1_Pooling" / "config.json", {})
    for mode in ("mean_tokens", "cls_token", "max_tokens"):
        if config.get(f"pooling_mode_{mode}"):
            return mode
    if config.get("pooling_mode") in ("mean", "cls", "max"):
        return {"mean": "mean_tokens", "cls": "cls_token", "max": "max_tokens"}[
            config["pooling_mode"]
        ]
    if config:
        raise ValueError(f"unsupported pooling in {location}/1_Pooling/config.json: {config}")
    return "mean_tokens"


def _has_normalize_module(location):
    modules = _read_json(Path(location) / "modules.json", [])
    return any(module.get("type", "").endswith("Normalize") for module in modules)


class OnnxEmbeddings:
    """LangChain `Embeddings` over an ONNX export of a sentence-transformers folder.

    `tokenizer` and `max_seq_length` are public: chunking measures text in them."""

    def __init__(self, location, backend="onnx-int8", normalize=True, batch_size=32, threads=0):
        from pybo.knowledge.providers import heavy

        ort = heavy("onnxruntime")
        AutoTokenizer = heavy("transformers", "AutoTokenizer")  # noqa: N806

        self.location = str(location)
        self.backend = backend
        path = export_path(location, backend)
        if not path.is_file():
            raise FileNotFoundError(path)
        st_config = _read_json(Path(location) / "sentence_bert_config.json", {})
        self.tokenizer = AutoTokenizer.from_pretrained(self.location)
        self.do_lower_case = bool(st_config.get("do_lower_case"))
        self.max_seq_length = int(
            st_config.get("max_seq_length") or min(self.tokenizer.model_max_length, 512)
        )
        self.pooling = _pooling_mode(location)
        self.normalize = normalize or _has_normalize_module(location)
        self.batch_size = batch_size
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Threads wait without spinning, as torch's do (OMP_WAIT_POLICY, pybo/__init__.py):
        # spinning pool threads starve each other and the LLM on a busy small machine.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._inputs = [item.name for item in self.session.get_inputs()]

    def encode(self, texts):
        """float32 array (len(texts), dim), in the input order; batches by length."""
        import numpy as np

        texts = [str(text).strip() for text in texts]
        if self.do_lower_case:
            texts = [text.lower() for text in texts]
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = [None] * len(texts)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            vectors = self._encode_batch([texts[i] for i in batch])
            for i, vector in zip(batch, vectors, strict=True):
                out[i] = vector
        if not out:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack(out)

    def _encode_batch(self, texts):
        import numpy as np

        features = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.max_seq_length,
            return_tensors="np",
        )
        feed = {name: features[name].astype(np.int64) for name in self._inputs if name in features}
        if "token_type_ids" in self._inputs and "token_type_ids" not in feed:
            feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
        (hidden,) = self.session.run(["last_hidden_state"], feed)
        mask = features["attention_mask"].astype(np.float32)[..., None]
        if self.pooling == "cls_token":
            pooled = hidden[:, 0]
        elif self.pooling == "max_tokens":
            pooled = np.where(mask > 0, hidden, -1e9).max(axis=1)
        else:
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        if self.normalize:
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            pooled = pooled / np.clip(norms, 1e-12, None)
        return pooled.astype(np.float32)

    # LangChain's Embeddings interface (HuggingFaceEmbeddings replaces newlines too).
    def embed_documents(self, texts):
        return self.encode([text.replace("\n", " ") for text in texts]).tolist()

    def embed_query(self, text):
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts):
        return self.embed_documents(texts)

    async def aembed_query(self, text):
        return self.embed_query(text)
