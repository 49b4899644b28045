# The nat lab's router (iptables MASQUERADE) and the holder of ikelab's network namespace: a lab-local image,
# removed by `docker-compose down --rmi local`.
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends iptables iproute2 \
 && rm -rf /var/lib/apt/lists/*
