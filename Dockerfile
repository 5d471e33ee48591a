# The wschaos image: the emulator, the embedded Toxiproxy-compatible server and the scenario runner,
# behind one entry point. docker-compose.yml runs `wschaos emulator` and `wschaos run` from it.
#   docker build -t wschaos .
#   docker run --rm -p 3001:3001 -p 3000:3000 wschaos emulator --host 0.0.0.0
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Only what the package is built from: the tests, benchmarks and deploy files stay out of the image.
COPY pyproject.toml README.md ./
COPY emulator ./emulator
COPY client ./client
COPY chaos ./chaos
COPY scenarios ./scenarios
# A regular (non-editable) install: the built-in scenarios ship as package data.
RUN pip install . && rm -rf /src/build

# Run as an unprivileged user; nothing in wschaos needs root.
RUN useradd --create-home --uid 10001 wschaos
USER wschaos
WORKDIR /home/wschaos

# 3001: WebSocket API, @connections and /_wschaos; 3000: REST API; 8474: `wschaos toxiproxy`;
# 9464: `wschaos run --metrics-port 9464` as docker-compose.yml runs it.
EXPOSE 3001 3000 8474 9464
ENTRYPOINT ["wschaos"]
# Listen on every interface, or nothing outside the container can reach the emulator.
CMD ["emulator", "--host", "0.0.0.0"]
