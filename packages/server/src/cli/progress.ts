/**
 * A one-line progress bar redrawn in place, for bulk commands on a terminal. Written by hand:
 * a dependency for twenty lines of `\r` and padding is not worth it.
 *
 * @example
 * const bar = new ProgressBar(process.stderr, 5000, "retrying dead jobs");
 * bar.update(1000); // retrying dead jobs [████░░░░░░░░░░░░░░░░]  1000/5000  20%
 * bar.clear();
 */
export class ProgressBar {
  private total: number;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    total: number,
    private readonly label: string,
  ) {
    this.total = Math.max(1, total);
  }

  update(done: number): void {
    // Jobs that died while we ran can push the count past the first total.
    this.total = Math.max(this.total, done);
    const counts = `${String(done).padStart(String(this.total).length)}/${this.total}`;
    const percent = `${Math.floor((100 * done) / this.total)}%`.padStart(4);
    const room = (this.stream.columns || 80) - this.label.length - counts.length - percent.length - 8;
    const width = Math.max(10, Math.min(40, room));
    const filled = Math.min(width, Math.floor((width * done) / this.total));
    const bar = `${"█".repeat(filled)}${"░".repeat(width - filled)}`;
    // \r goes back to the line start, ESC[K clears what a longer previous line left.
    this.stream.write(`\r\u001b[K${this.label} [${bar}] ${counts} ${percent}`);
  }

  /** Removes the bar, so the summary line that follows starts on a clean line. */
  clear(): void {
    this.stream.write("\r\u001b[K");
  }
}
