# Build: a static binary (modernc.org/sqlite is pure Go, so no cgo).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /messaging . && mkdir -p /data

# Run: no shell, no root. /data holds the database and the host key.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /messaging /messaging
# A named volume starts as a copy of this directory, owner included.
COPY --from=build --chown=65532:65532 /data /data
WORKDIR /data
ENV ADDR=0.0.0.0 \
    PORT=4848 \
    NUM_TH=2 \
    DATABASE=/data/messaging.db \
    HOST_KEY=/data/ssh/messaging_ed25519 \
    PASSWORD_MIN=8 \
    PASSWORD_MAX=15
VOLUME ["/data"]
EXPOSE 4848
USER nonroot:nonroot
ENTRYPOINT ["/messaging"]
