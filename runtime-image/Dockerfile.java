# Lamina's Java runtime images: java21 (Debian trixie's openjdk-21) and java17 (bookworm's
# openjdk-17), each on the runtime image of the same Debian release (and its agent). Built by runtime-image/build/build-offline.sh (targets runtime-java21 and
# runtime-java17), or with Docker from the repository root after the parent image:
#   docker build -f runtime-image/Dockerfile.java -t lamina/runtime-java21:dev .
#   docker build -f runtime-image/Dockerfile.java --build-arg DEBIAN_SUITE=bookworm \
#     --build-arg RUNTIME_IMAGE=lamina/runtime-bookworm:dev --build-arg JAVA_MAJOR=17 \
#     -t lamina/runtime-java17:dev .
#
# The runtime's class path is /var/runtime/lib: AWS's runtime interface client,
# aws-lambda-java-core and aws-lambda-java-serialization from Maven Central, exact versions
# in runtimes/java/pom.xml, copied by Maven in a build stage (Maven stays out of the image).
# The agent starts `java ... com.amazonaws.services.lambda.runtime.api.client.AWSLambda
# <handler>` in /var/task, where the client finds the function's classes and lib/*.jar.
ARG DEBIAN_SUITE=trixie
ARG RUNTIME_IMAGE=lamina/runtime:dev
FROM debian:${DEBIAN_SUITE}-slim AS jars
# The JRE's packages link their man pages, whose directory the slim base leaves out; the JRE
# is configured after ca-certificates-java, so its trust store is written afterwards.
RUN set -eux; \
    export DEBIAN_FRONTEND=noninteractive; \
    mkdir -p /usr/share/man/man1; \
    apt-get update; \
    apt-get install -y --no-install-recommends maven ca-certificates-java; \
    update-ca-certificates -f >/dev/null
COPY runtime-image/runtimes/java/pom.xml /tmp/java/pom.xml
# A build behind a TLS-inspecting proxy passes its CA bundle as the build secret
# `ca-bundle`: when Maven cannot download with the JRE's trust store, the bundle's
# certificates go into a throwaway one for this step only (keytool is slow: one JVM per
# certificate, so only when needed).
RUN --mount=type=secret,id=ca-bundle set -eu; \
    copy() { MAVEN_OPTS="$1" mvn -B -q -Dmaven.repo.local=/tmp/m2 -f /tmp/java/pom.xml \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=/var/runtime/lib; }; \
    if ! copy "" && [ -s /run/secrets/ca-bundle ]; then \
        cp /etc/ssl/certs/java/cacerts /tmp/cacerts; \
        csplit -s -z -f /tmp/ca- /run/secrets/ca-bundle '/-----BEGIN CERTIFICATE-----/' '{*}'; \
        for c in /tmp/ca-*; do \
            keytool -importcert -noprompt -storepass changeit -keystore /tmp/cacerts -alias "${c##*/}" -file "$c" >/dev/null 2>&1 || true; \
        done; \
        copy "-Djavax.net.ssl.trustStore=/tmp/cacerts -Djavax.net.ssl.trustStorePassword=changeit"; \
    fi; \
    ls -l /var/runtime/lib/aws-lambda-java-runtime-interface-client-*.jar

FROM ${RUNTIME_IMAGE}
ARG JAVA_MAJOR=21
USER root
# The JRE (headless); the build fails if the package brings another major version.
RUN set -eux; \
    export DEBIAN_FRONTEND=noninteractive; \
    mkdir -p /usr/share/man/man1; \
    apt-get update; \
    apt-get install -y --no-install-recommends "openjdk-${JAVA_MAJOR}-jre-headless"; \
    apt-get clean; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log; \
    v="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"; \
    [ "$v" = "${JAVA_MAJOR}" ] || { echo "java is $v, expected ${JAVA_MAJOR}"; exit 1; }
COPY --from=jars /var/runtime/lib/ /var/runtime/lib/
# No standby runtimes: the JVM starts when the function is known.
ENV LAMINA_STANDBY_RUNTIMES=
USER 993:990
