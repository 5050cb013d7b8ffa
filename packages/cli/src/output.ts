import { styleText } from 'node:util';

/** Where a command writes, and whether it colours its output. */
export interface Output {
  /** Writes a line to standard output. */
  out(line: string): void;
  /** Writes a line to standard error. */
  err(line: string): void;
  /** `--json`: machine-readable output on standard output. */
  readonly json: boolean;
  /** Colours `text` when colours are on. */
  paint(style: Style, text: string): string;
}

export type Style = 'dim' | 'bold' | 'red' | 'green' | 'yellow' | 'cyan' | 'magenta';

/** Standard streams, coloured when standard output is a terminal, `NO_COLOR` is unset and `--no-color` is not given (`FORCE_COLOR` forces colours). */
export function consoleOutput(options: { readonly json: boolean; readonly noColor: boolean }, env: NodeJS.ProcessEnv = process.env): Output {
  const forced = env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '0';
  const colour = !options.json && !options.noColor && (env['NO_COLOR'] === undefined || env['NO_COLOR'] === '') && (forced || process.stdout.isTTY === true);
  return {
    out: (line) => void process.stdout.write(`${line}\n`),
    err: (line) => void process.stderr.write(`${line}\n`),
    json: options.json,
    paint: (style, text) => (colour ? styleText(style, text) : text),
  };
}

/** Cuts `text` to `max` characters on one line. */
export function oneLine(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Lays rows out in columns, two spaces apart; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}
