# An image with replag installed, so that its pods start without the npm registry (deploy/kubernetes/deployment.yaml
# runs it). Build it from the package as packed here, push it where your cluster pulls from, and set that name in
# the Deployment:
#   npm pack
#   docker build -t registry.example.com/replag:0.1.0 .
#   docker push registry.example.com/replag:0.1.0
# The package's optional peer dependencies that replag loads (database drivers, YAML parser, zod) are installed
# next to it, at the versions its tests run with. test/deploy/dockerfile.test.ts replays the install steps.
FROM node:24-bookworm-slim

COPY otel-replication-lag-0.1.0.tgz /tmp/
RUN npm install --global --no-audit --no-fund /tmp/otel-replication-lag-0.1.0.tgz pg@8.23.1 mysql2@3.24.6 yaml@2.9.1 zod@4.6.7 \
    && rm /tmp/otel-replication-lag-0.1.0.tgz \
    && npm cache clean --force

# The image's unprivileged user (uid 1000, as the Deployment's runAsUser); replag is PID 1 and gets SIGTERM itself.
USER node
ENTRYPOINT ["replag"]
CMD ["--help"]
