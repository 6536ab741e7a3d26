# The facade as a container. Mount your mappings/ and wsdl/ folders:
#   docker build -t facade .
#   docker run -p 8080:8080 -v $PWD/mappings:/app/mappings:ro -v $PWD/wsdl:/app/wsdl:ro facade
# The image ships no routes (the demo's would call a mock CRM that is not in the container):
# started without mounts, it stops at once and says what to mount.
#
# The base image is pinned to one Python release; pin its digest as well where you build
# (--build-arg PYTHON_IMAGE=python:3.11.11-slim-bookworm@sha256:...).
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first, read from pyproject.toml alone: this layer is rebuilt only when
# pyproject.toml changes, not with every code edit.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt "setuptools>=77" wheel \
 && rm /tmp/requirements.txt \
 && useradd --create-home --uid 10001 facade \
 && mkdir -p /app/mappings /app/wsdl

# The facade itself: a code edit rebuilds only this layer.
COPY README.md ./
COPY facade ./facade
RUN pip install --no-deps --no-build-isolation .

USER facade
EXPOSE 8080
VOLUME ["/app/mappings", "/app/wsdl"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"]
CMD ["facade", "serve", "--host", "0.0.0.0", "--port", "8080", "--mappings", "/app/mappings", "--wsdl", "/app/wsdl"]
