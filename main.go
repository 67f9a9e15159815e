// Command messaging is a group chat reached with nothing but ssh.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"messaging/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Run(ctx, os.Getenv, os.Stderr)
	stop()
	os.Exit(code)
}
