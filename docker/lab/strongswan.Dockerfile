FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends strongswan-charon strongswan-swanctl \
      libcharon-extra-plugins libstrongswan-extra-plugins iproute2 iputils-ping && rm -rf /var/lib/apt/lists/*
# charon with the kernel's ESP (xfrm) when the host has it; swap in kernel-libipsec where it does not.
CMD ["sh", "-c", "/usr/lib/ipsec/charon & sleep 2 && swanctl --load-all && wait"]
