import { useState, type ReactElement } from 'react';

/** A collapsible tree of a JSON value; objects and arrays below `openDepth` start collapsed. */
export function JsonTree({ value, name, depth = 0, openDepth = 2 }: { value: unknown; name?: string; depth?: number; openDepth?: number }): ReactElement {
  const [open, setOpen] = useState(depth < openDepth);
  const label = name === undefined ? null : <span className="json-key">{name}: </span>;
  if (value === null || typeof value !== 'object') {
    const kind = value === null ? 'null' : typeof value;
    return (
      <div className="json-line">
        {label}
        <span className={`json-${kind}`}>{JSON.stringify(value)}</span>
      </div>
    );
  }
  const entries: [string, unknown][] = Array.isArray(value) ? value.map((item, index) => [String(index), item]) : Object.entries(value);
  const brackets = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  return (
    <div className="json-node">
      <button type="button" className="json-toggle" onClick={() => setOpen(!open)} aria-expanded={open}>
        {open ? '▾' : '▸'}
      </button>
      {label}
      <span>
        {brackets[0]}
        {open ? '' : ` ${entries.length} ${Array.isArray(value) ? 'items' : 'keys'} ${brackets[1]}`}
      </span>
      {open && (
        <div className="json-children">
          {entries.map(([key, child]) => (
            <JsonTree key={key} name={key} value={child} depth={depth + 1} openDepth={openDepth} />
          ))}
          <div>{brackets[1]}</div>
        </div>
      )}
    </div>
  );
}
