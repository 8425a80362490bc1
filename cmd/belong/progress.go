package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
)

// progress shows a long job's progress: a bar redrawn in place when stderr is a
// terminal, structured log lines otherwise (cron, CI, a log collector).
type progress struct {
	tty    io.Writer
	logger *slog.Logger
	last   time.Time
	stage  string
}

func newProgress(e *env) *progress {
	p := &progress{logger: e.logger}
	if f, ok := e.stderr.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = f
		}
	}
	return p
}

func (p *progress) report(stage string, done, total int) {
	if p.tty != nil {
		const width = 30
		filled := width
		if total > 0 {
			filled = min(width, width*done/total)
		}
		fmt.Fprintf(p.tty, "\r%-12s [%s%s] %d/%d ", stage, strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total)
		return
	}
	// One line per stage change, and at most one a second within a stage.
	if stage == p.stage && time.Since(p.last) < time.Second && done != total {
		return
	}
	p.stage, p.last = stage, time.Now()
	p.logger.Info("cluster progress", slog.String("stage", stage), slog.Int("done", done), slog.Int("total", total))
}

func (p *progress) done() {
	if p.tty != nil {
		fmt.Fprint(p.tty, "\r\033[K")
	}
}
