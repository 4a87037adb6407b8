# Zero-or-One Lab in a container:
#   docker build -t zero-or-one-lab . && docker run -p 8501:8501 -v zol-data:/data zero-or-one-lab
# BASE_IMAGE: any Debian-like image with Python 3.11 and pip on the PATH (scripts/check_docker.sh
# can build a stand-in from Debian's packages where the official image cannot be pulled).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

# PORT: the one port setting, for the server and its health check alike (platforms that assign
# a port set it). The lab database lives in the /data volume. The welcome message is off: in
# headless mode it looks up the machine's external address on the internet at every start.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    PORT=8501 \
    ZOL_DATA_DIR=/data \
    STREAMLIT_LOGGER_HIDE_WELCOME_MESSAGE=true

RUN useradd --create-home --uid 10001 lab && mkdir -p /data && chown lab:lab /data
WORKDIR /home/lab/app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY --chown=lab:lab app.py ./
COPY --chown=lab:lab .streamlit ./.streamlit
COPY --chown=lab:lab model ./model
COPY --chown=lab:lab store ./store
COPY --chown=lab:lab ui ./ui
COPY --chown=lab:lab app_pages ./app_pages
COPY --chown=lab:lab assets ./assets

USER lab
VOLUME /data
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, sys, urllib.request; sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"8501\")}/_stcore/health', timeout=4).read() != b'ok')"

# exec: the server is the container's first process and gets `docker stop`'s SIGTERM itself.
CMD ["sh", "-c", "exec streamlit run app.py --server.port=\"${PORT:-8501}\" --server.address=0.0.0.0 --server.headless=true"]
