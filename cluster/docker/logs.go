package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// ExportLogs writes each container's logs (stdout and stderr, timestamped)
// to dir/<container>.log, with the container's state on the first line.
func (c *Cluster) ExportLogs(ctx context.Context, dir string) error {
	if c.cli == nil {
		return errors.New("export logs: no Docker client")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("export logs: %w", err)
	}
	cs, err := c.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: clusterFilter(c.cfg.Name)})
	if err != nil {
		return fmt.Errorf("export logs: list containers: %w", err)
	}
	var errs []error
	for _, ctr := range cs.Items {
		name := strings.TrimPrefix(firstName(ctr.Names), "/")
		var buf bytes.Buffer
		fmt.Fprintf(&buf, "# container %s (%s): %s, %s\n", name, ctr.Image, ctr.State, ctr.Status)
		if err := c.logs(ctx, ctr.ID, "all", &buf); err != nil {
			fmt.Fprintf(&buf, "# logs: %v\n", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".log"), buf.Bytes(), 0o644); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// logs copies a container's logs (the last tail lines, or "all") to w.
func (c *Cluster) logs(ctx context.Context, ctr, tail string, w io.Writer) error {
	r, err := c.cli.ContainerLogs(ctx, ctr, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: true, Tail: tail})
	if err != nil {
		return err
	}
	defer r.Close()
	// No TTY: the stream is multiplexed; both halves go to w.
	_, err = stdcopy.StdCopy(w, w, r)
	return err
}

// tail is the end of a container's logs, for error messages.
func (c *Cluster) tail(ctx context.Context, ctr string, lines int) string {
	var buf bytes.Buffer
	if err := c.logs(ctx, ctr, fmt.Sprint(lines), &buf); err != nil {
		return "(no logs: " + err.Error() + ")"
	}
	return "\n" + buf.String()
}
