# The facade as a container: mount your mappings/ and wsdl/ over the shipped demo ones.
#   docker build -t facade .
#   docker run -p 8080:8080 -v $PWD/mappings:/app/mappings -v $PWD/wsdl:/app/wsdl facade
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY facade ./facade
RUN pip install . && useradd --create-home --uid 10001 facade

COPY mappings ./mappings
COPY wsdl ./wsdl

USER facade
EXPOSE 8080
VOLUME ["/app/mappings", "/app/wsdl"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"]
CMD ["facade", "serve", "--host", "0.0.0.0", "--port", "8080", "--mappings", "/app/mappings", "--wsdl", "/app/wsdl"]
