import type { ReactElement } from 'react';

import type { RateSnapshot } from '../shared/rates.js';

/** Events per second per type, and handler outcome counts. */
export function RatesView({ rates }: { rates: RateSnapshot }): ReactElement {
  const max = Math.max(1, ...rates.types.map((t) => t.perSecond));
  return (
    <div className="rates" data-testid="rates-view">
      <h3>Events per second (last {rates.windowSeconds} s)</h3>
      <table className="grid">
        <thead>
          <tr>
            <th>type</th>
            <th className="num">per second</th>
            <th />
            <th className="num">total</th>
          </tr>
        </thead>
        <tbody>
          {rates.types.map((row) => (
            <tr key={row.type} data-testid="rate-type" data-type={row.type}>
              <td>{row.type}</td>
              <td className="num">{row.perSecond.toFixed(1)}</td>
              <td className="bar-cell">
                <div className="bar" style={{ width: `${(row.perSecond / max) * 100}%` }} />
              </td>
              <td className="num">{row.total}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Handlers</h3>
      <table className="grid">
        <thead>
          <tr>
            <th>handler</th>
            <th className="num">succeeded</th>
            <th className="num">failed</th>
            <th className="num">dead-lettered</th>
          </tr>
        </thead>
        <tbody>
          {rates.handlers.map((row) => (
            <tr key={row.handler} data-testid="rate-handler" data-handler={row.handler}>
              <td>{row.handler}</td>
              <td className="num">{row.succeeded}</td>
              <td className={`num${row.failed > 0 ? ' bad' : ''}`} data-testid="rate-handler-failed">
                {row.failed}
              </td>
              <td className={`num${row.deadLettered > 0 ? ' bad' : ''}`}>{row.deadLettered}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
