import { describe, expect, it } from 'vitest';

import { connectionAdvice } from './rabbitmq-errors.js';

function socketError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('the advice for a connection failure', () => {
  it('says the connection was refused, whatever digits the port has', () => {
    // Ports such as 40385 or 15301 hold AMQP's reply codes 403 (access refused) and 530 (not allowed).
    for (const port of [40385, 15301, 5672]) {
      expect(connectionAdvice(socketError(`connect ECONNREFUSED 127.0.0.1:${port}`, 'ECONNREFUSED'))).toMatch(/^connection refused: is RabbitMQ running/);
    }
  });

  it('tells a refused login and a refused virtual host by their AMQP replies', () => {
    expect(connectionAdvice(new Error('Handshake terminated by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - Login was refused"'))).toMatch(/^login refused/);
    expect(connectionAdvice(new Error('Handshake terminated by server: 530 (NOT-ALLOWED) with message "NOT_ALLOWED - vhost x not found"'))).toMatch(/^access to the virtual host refused/);
  });
});
