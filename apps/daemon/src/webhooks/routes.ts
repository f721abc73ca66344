// The management API: POST /v1/webhooks, GET /v1/webhooks, DELETE /v1/webhooks/{id}. An operator surface:
// the admin scope, or loopback clients only when the daemon has no tokens.
import { SigError } from '@signal-broker/errors';
import { OPERATOR, sendEmpty, sendJson } from '@signal-broker/gateway';
import type { Router } from '@signal-broker/gateway';
import { SMALL_BODY_BYTES, readJsonBody } from '../rest/body.ts';
import { parseWebhookInput } from './definition.ts';
import type { WebhookService } from './service.ts';

export function addWebhookRoutes(router: Router, service: WebhookService | undefined): void {
  const need = (): WebhookService => {
    if (service === undefined) {
      throw new SigError('SIG_ERR_INBOX_OFF', 'webhooks read from the inbox, which is turned off (SIGNAL_BROKER_INBOX=off)');
    }
    return service;
  };
  router
    .get('/v1/webhooks', OPERATOR, ({ res }) => sendJson(res, 200, need().list()))
    .add('POST', '/v1/webhooks', OPERATOR, async ({ req, res }) => {
      const webhooks = need();
      const input = parseWebhookInput(await readJsonBody(req, SMALL_BODY_BYTES));
      sendJson(res, 201, await webhooks.create(input));
    })
    .add('DELETE', '/v1/webhooks/{id}', OPERATOR, async ({ res, params }) => {
      await need().remove(params.id ?? '');
      sendEmpty(res, 204);
    });
}
