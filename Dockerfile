# The Flagstaff server image: the SDK (whose engine the server uses) and the server, run as a non-root user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv/flagstaff

# Slow-changing layers first: the SDK, then the server's dependencies, which only pyproject.toml invalidates
# (installed against a placeholder package; the real code replaces it below).
COPY sdk/ sdk/
RUN pip install ./sdk
COPY pyproject.toml README.md ./
RUN mkdir app && touch app/__init__.py && pip install . && pip uninstall --yes flagstaff-server && rm -r app

# The server itself, installed as a regular package: its migrations ship inside it (app/migrations).
COPY app/ app/
RUN pip install --no-deps . && rm -rf app build

RUN useradd --system --uid 10001 --no-create-home --home-dir /srv/flagstaff flagstaff \
    && chown flagstaff /srv/flagstaff
USER flagstaff

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"]

CMD ["flagstaff", "serve", "--host", "0.0.0.0"]
