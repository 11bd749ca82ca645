# The hosted demo: a CPU-only torch, one Streamlit process, no GPU.
# Build and run:  docker build -t lnorm . && docker run -p 8501:8501 --memory=1g lnorm
FROM python:3.11-slim

WORKDIR /app
# torch 2.13.0's CPU build from PyTorch's CPU index: a few hundred MB instead of the CUDA wheels' gigabytes
COPY requirements.txt .
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
 && pip install --no-cache-dir -r requirements.txt

COPY app.py ./
COPY lnorm_app/ lnorm_app/
COPY views/ views/
COPY lnorm_core/ lnorm_core/
COPY data/ data/
COPY .streamlit/ .streamlit/

EXPOSE 8501
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://localhost:8501/_stcore/health')"
# one benchmark at a time, bounded, and the thread count left as torch chose it (see lnorm_core.timing)
CMD ["python", "-m", "streamlit", "run", "app.py", "--server.port=8501", "--server.address=0.0.0.0"]
