# Zero-or-One Lab in a container: docker build -t zero-or-one-lab . && docker run -p 8501:8501 zero-or-one-lab
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2

RUN useradd --create-home --uid 10001 lab
WORKDIR /home/lab/app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY --chown=lab:lab app.py ./
COPY --chown=lab:lab .streamlit ./.streamlit
COPY --chown=lab:lab model ./model
COPY --chown=lab:lab ui ./ui
COPY --chown=lab:lab app_pages ./app_pages
COPY --chown=lab:lab assets ./assets

USER lab
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read() != b'ok')"

CMD ["streamlit", "run", "app.py", "--server.port=8501", "--server.address=0.0.0.0", "--server.headless=true"]
