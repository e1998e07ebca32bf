#!/bin/sh
# Runs in the fetch stage of kafka/Dockerfile and sqs/Dockerfile: copies the runtime jars of
# /tmp/pom.xml from Maven Central into $1. A build behind a TLS-inspecting proxy passes its CA
# bundle as the build secret `ca-bundle`; the certificates Debian does not already trust are
# added to a throw-away Java trust store for this download only.
set -eu
out="$1"
opts=""
if [ -s /run/secrets/ca-bundle ]; then
  work="$(mktemp -d)"
  cp /etc/ssl/certs/java/cacerts "$work/truststore"
  tr -d '\n' </etc/ssl/certs/ca-certificates.crt >"$work/system"
  awk -v dir="$work" '/BEGIN CERT/ { n++; f = dir "/ca-" n ".pem" } f { print > f } /END CERT/ { f = "" }' \
    /run/secrets/ca-bundle
  for cert in "$work"/ca-*.pem; do
    [ -f "$cert" ] || continue
    body="$(grep -v -- ----- "$cert" | tr -d '\n')"
    grep -qF "$body" "$work/system" ||
      keytool -importcert -noprompt -storepass changeit -keystore "$work/truststore" \
        -alias "$(basename "$cert")" -file "$cert" >/dev/null
  done
  opts="-Djavax.net.ssl.trustStore=$work/truststore -Djavax.net.ssl.trustStorePassword=changeit"
fi
MAVEN_OPTS="$opts" mvn -B -q -f /tmp/pom.xml dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$out"
rm -rf "${work:-/nonexistent}" /root/.m2
