package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/siyu-live/siyu/community"
)

// cmdCampaign is `siyu campaign run|status`: start a campaign run now and
// follow it with a progress bar, or print where a campaign's latest run
// stands.
func cmdCampaign(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	synopsis := "campaign run CAMPAIGN_ID [--detach] [--with-worker] | campaign status CAMPAIGN_ID [--watch]"
	if len(args) == 0 {
		fmt.Fprintf(stderr, "Usage: siyu %s\n", synopsis)
		return errUsage
	}
	verb, rest := args[0], args[1:]
	fs := newFlags("campaign "+verb, synopsis, stderr)
	detach := fs.Bool("detach", false, "run: start the run and return at once")
	withWorker := fs.Bool("with-worker", false, "run: also run a job worker in this process until the run ends")
	watch := fs.Bool("watch", false, "status: follow the latest run with a progress bar until it ends")
	interval := fs.Duration("interval", 500*time.Millisecond, "how often the progress is read")
	if verb != "run" && verb != "status" {
		fmt.Fprintf(stderr, "siyu: unknown campaign command %q\nUsage: siyu %s\n", verb, synopsis)
		return errUsage
	}
	// The id may come before or after the flags.
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fmt.Fprintf(stderr, "Usage: siyu %s\n", synopsis)
		return errUsage
	}
	id := fs.Arg(0)
	if err := parseFlags(fs, fs.Args()[1:]); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "Usage: siyu %s\n", synopsis)
		return errUsage
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	a, closeApp, err := openApplication(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer closeApp()
	camps := a.community.campaigns

	var run community.RunProgress
	switch verb {
	case "run":
		if run, err = camps.RunNow(ctx, "", id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "siyu: campaign %s: run %s started\n", id, run.RunID)
		if *detach {
			return nil
		}
		if *withWorker {
			wctx, stop := context.WithCancel(ctx)
			defer stop()
			done := make(chan error, 1)
			go func() { done <- a.runWorker(wctx) }()
			defer func() {
				stop()
				<-done
			}()
		}
	case "status":
		c, err := camps.Campaign(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "campaign %s %q: %s", c.ID, c.Name, c.Status)
		if c.NextRunAt != nil {
			fmt.Fprintf(stdout, ", next run %s", c.NextRunAt.In(cnTime).Format("2006-01-02 15:04"))
		}
		fmt.Fprintln(stdout)
		if c.LastRun == nil {
			fmt.Fprintln(stdout, "no run yet")
			return nil
		}
		run = *c.LastRun
		if !*watch || run.Status != community.CampaignRunning {
			printRun(stdout, run)
			return nil
		}
	}
	final, err := followRun(ctx, camps, run.RunID, *interval, stderr)
	if err != nil {
		return err
	}
	printRun(stdout, final)
	return nil
}

// cnTime is China Standard Time, for display.
var cnTime = time.FixedZone("CST", 8*60*60)

// followRun draws a progress bar of a run until it is no longer running.
// The bar counts deliveries that reached an end, over every channel,
// against the members the run's rule selects.
func followRun(ctx context.Context, camps *community.Campaigns, runID string, every time.Duration, w io.Writer) (community.RunProgress, error) {
	expected, err := camps.Expected(ctx, runID)
	if err != nil {
		return community.RunProgress{}, err
	}
	p, err := camps.Progress(ctx, runID)
	if err != nil {
		return community.RunProgress{}, err
	}
	total := max(expected*len(p.Channels), 1)
	bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("run "+shortID(runID)),
		progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(every),
		progressbar.OptionSetWidth(30), progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		done := 0
		for _, c := range p.Channels {
			done += c.Done()
		}
		if targeted := p.Targeted * len(p.Channels); targeted > total {
			// The segment grew while the run planned its chunks.
			total = targeted
			bar.ChangeMax(total)
		}
		_ = bar.Set(done)
		if p.Status != community.CampaignRunning {
			if p.Status == community.CampaignCompleted {
				bar.ChangeMax(max(done, 1))
				_ = bar.Finish()
			} else {
				_ = bar.Exit()
				fmt.Fprintln(w)
			}
			return p, nil
		}
		select {
		case <-ctx.Done():
			_ = bar.Exit()
			fmt.Fprintln(w)
			return p, errors.New("stopped following the run; it carries on in the worker")
		case <-t.C:
		}
		if p, err = camps.Progress(ctx, runID); err != nil {
			return p, err
		}
	}
}

// printRun prints a run's progress: per channel, what was sent, skipped
// and failed, with reasons.
func printRun(w io.Writer, p community.RunProgress) {
	fmt.Fprintf(w, "run %s: %s, %d members targeted in %d chunks, started %s\n", p.RunID, p.Status, p.Targeted, p.Chunks,
		p.StartedAt.In(cnTime).Format("2006-01-02 15:04:05"))
	channels := make([]string, 0, len(p.Channels))
	for ch := range p.Channels {
		channels = append(channels, ch)
	}
	sort.Strings(channels)
	for _, ch := range channels {
		c := p.Channels[ch]
		fmt.Fprintf(w, "  %-9s sent %d, skipped %d, failed %d, pending %d", ch, c.Sent, c.Skipped, c.Failed, c.Pending)
		if len(c.Reasons) > 0 {
			reasons := make([]string, 0, len(c.Reasons))
			for r, n := range c.Reasons {
				reasons = append(reasons, fmt.Sprintf("%s %d", r, n))
			}
			sort.Strings(reasons)
			fmt.Fprintf(w, " (%s)", strings.Join(reasons, ", "))
		}
		fmt.Fprintln(w)
	}
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[len(id)-8:]
	}
	return id
}
