# pigskin inference server, CPU only: a SageMaker bring-your-own-container image.
#
#   docker build -t pigskin-serve .
#   docker run --rm -p 8080:8080 -v "$PWD/model:/opt/ml/model:ro" pigskin-serve serve
#
# SageMaker runs `docker run IMAGE serve` with the model's model.tar.gz unpacked in /opt/ml/model and
# expects /ping and /invocations on port 8080 ($SAGEMAKER_BIND_TO_PORT when set). See docs/serve.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# PyPI's Linux torch wheels pull in the CUDA libraries (gigabytes); PyTorch's own CPU index has the
# same versions without them. pyproject.toml's `torch==2.14.1` is satisfied by `2.14.1+cpu`.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
WORKDIR /opt/pigskin
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN pip install --index-url "${TORCH_INDEX_URL}" torch==2.14.1 torchvision==0.29.1 \
 && pip install ".[serve]" \
 && python -c "import pigskin.serve.app, onnxruntime, torch; print('torch', torch.__version__)"

COPY docker/serve /usr/local/bin/serve
RUN chmod 0755 /usr/local/bin/serve \
 && useradd --system --no-create-home --uid 10001 pigskin
USER pigskin

EXPOSE 8080
# exec form, and the script execs the server: SIGTERM reaches it (SageMaker sends SIGKILL 30 s later)
ENTRYPOINT ["/usr/local/bin/serve"]
CMD ["serve"]
