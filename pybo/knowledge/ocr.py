"""OCR for PDF pages without a text layer (scans): pypdfium2 renders, Tesseract reads.

Tesseract runs as a program (`tesseract - - -l kor+eng`, the page image on stdin), so
nothing is installed into Python for it. Whether it is usable (the program exists and
knows every language asked for) is found out once, on first use, and the Korean
reason is kept for the message a user sees when a scanned PDF cannot be read.
"""

import io
import logging
import subprocess
import threading

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "OCR을 쓰려면 서버에 Tesseract와 한국어 데이터를 설치하세요: "
    "`apt-get install tesseract-ocr tesseract-ocr-kor` (설정: OCR_ENABLED, TESSERACT_CMD)."
)
_render_lock = threading.Lock()  # PDFium is not thread-safe


class TesseractOcr:
    """Reads page images with the `command` program in `languages` ("kor+eng")."""

    def __init__(self, command="tesseract", languages="kor+eng", dpi=300, enabled=True,
                 timeout=120):  # fmt: skip
        self.command = command
        self.languages = languages
        self.dpi = dpi
        self.enabled = enabled
        self.timeout = timeout
        self._problem = None
        self._checked = False
        self._lock = threading.Lock()

    def problem(self):
        """None when OCR can run, else why not (Korean). Checked once, lazily."""
        if not self._checked:
            with self._lock:
                if not self._checked:
                    self._problem = self._detect()
                    self._checked = True
                    if self._problem:
                        log.info("OCR unavailable: %s", self._problem)
        return self._problem

    @property
    def available(self):
        return self.problem() is None

    def _detect(self):
        if not self.enabled:
            return "OCR이 꺼져 있습니다 (OCR_ENABLED)."
        try:
            done = subprocess.run(
                [self.command, "--list-langs"], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.SubprocessError) as exc:
            log.info("tesseract %r not usable: %s", self.command, exc)
            return "Tesseract가 설치되어 있지 않습니다."
        installed = set(done.stdout.split()) | set(done.stderr.split())
        missing = [lang for lang in self.languages.split("+") if lang not in installed]
        if done.returncode != 0 or missing:
            return f"Tesseract에 {', '.join(missing) or self.languages} 언어 데이터가 없습니다."
        return None

    def read_image(self, png_bytes, psm=None):
        """Text of one image (PNG bytes); `psm`: Tesseract's page segmentation mode."""
        extra = ["--psm", str(psm)] if psm else []
        done = subprocess.run(
            [self.command, "-", "-", "-l", self.languages, *extra],
            input=png_bytes, capture_output=True, timeout=self.timeout,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(done.stderr.decode("utf-8", "replace")[-500:])
        return done.stdout.decode("utf-8", "replace")

    def render(self, pdf_path, index):
        """Page `index` (0-based) of the PDF as PNG bytes at `dpi`."""
        import pypdfium2

        with _render_lock:
            document = pypdfium2.PdfDocument(str(pdf_path))
            try:
                image = document[index].render(scale=self.dpi / 72, grayscale=True).to_pil()
            finally:
                document.close()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()

    def read_page(self, pdf_path, index):
        """OCR text of page `index` (0-based); '' when the page cannot be read."""
        try:
            image = self.render(pdf_path, index)
            text = self.read_image(image)
            if len(text.strip()) < 20:
                # The automatic layout analysis misses sparse pages of large Korean text
                # ("Empty page!!"); reading the page as one block finds them.
                text = self.read_image(image, psm=6)
            return text
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            log.warning("OCR failed on page %d of %s: %s", index + 1, pdf_path, exc)
            return ""
