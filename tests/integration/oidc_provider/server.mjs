// A test-only OpenID provider for m2mauth's integration tests: the certified node
// `oidc-provider` (version pinned in package.json / package-lock.json) on 127.0.0.1.
//
//   node server.mjs --config config.json [--port 0] [--ready-file ready.json] [--exit-on-stdin-close]
//
// The JSON config (written by tests/integration/conftest_oidc.py) holds the client metadata
// (passed to oidc-provider as is), the test accounts, the token lifetimes in seconds and the
// scopes. The port comes from --port, else $OIDC_PROVIDER_PORT, else the config, else 0 (a free
// port). Once listening, the chosen port is written to the ready file as
// {"port": N, "pid": P, "issuer": "http://127.0.0.1:N"} (atomically) and printed on stdout as
// `READY {...}`. The issuer is http://127.0.0.1:PORT: oidc-provider serves plain http when the
// request is not secure (cookies are then sent without the Secure flag), which is what a
// loopback test needs; no proxy settings are involved.
//
// Login and consent are this file's own interaction pages (a username/password form and a
// consent form), driven through oidc-provider's documented interaction API
// (interactionDetails / interactionResult / Grant), as a real deployment does; the
// development-only devInteractions are off. The device flow's own pages (user code input,
// confirmation, success) are oidc-provider's defaults. A scripted approver completes the whole
// sequence with plain HTTP form posts and a cookie jar.
//
// SIGTERM or SIGINT (and, with --exit-on-stdin-close, the end of stdin) stop the server.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

import Provider, { errors } from 'oidc-provider';

function parseArgs(argv) {
  const args = { config: undefined, port: undefined, readyFile: undefined, exitOnStdinClose: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      i += 1;
      return argv[i];
    };
    switch (arg) {
      case '--config': args.config = value(); break;
      case '--port': args.port = value(); break;
      case '--ready-file': args.readyFile = value(); break;
      case '--exit-on-stdin-close': args.exitOnStdinClose = true; break;
      default: throw new Error(`unknown argument ${arg}`);
    }
  }
  if (!args.config) throw new Error('--config <file.json> is required');
  return args;
}

function choosePort(args, config) {
  const raw = args.port ?? process.env.OIDC_PROVIDER_PORT ?? config.port ?? 0;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad port ${raw}`);
  return port;
}

const debug = process.env.M2MAUTH_OIDC_DEBUG ? (...a) => console.error('[oidc-provider]', ...a) : () => {};

function htmlEscape(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

function page(title, body) {
  return `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>${htmlEscape(title)}</title></head>
<body>
<h1>${htmlEscape(title)}</h1>
${body}
</body>
</html>`;
}

async function readForm(req, limit = 16 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw Object.assign(new Error('form too large'), { status: 413 });
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function signingKeys() {
  // A fresh RS256 key per run for ID tokens (the provider's own JWKS).
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: `op-${crypto.randomBytes(6).toString('hex')}`, alg: 'RS256', use: 'sig' }] };
}

function buildConfiguration(config) {
  const accounts = new Map((config.accounts ?? []).map((a) => [a.sub, a]));
  const ttl = {
    AccessToken: 4,
    ClientCredentials: 4,
    RefreshToken: 300,
    DeviceCode: 60,
    IdToken: 60,
    Interaction: 120,
    Session: 600,
    Grant: 600,
    ...(config.ttl ?? {}),
  };
  const scopes = [...new Set(['openid', 'offline_access', ...(config.scopes ?? [])])];

  return {
    clients: config.clients ?? [],
    jwks: signingKeys(),
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    scopes,
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    ttl,
    // Rotation on every refresh, for every client (the OpenAIRE behaviour m2mauth must survive).
    // oidc-provider also treats a replayed (already rotated) refresh token as theft and revokes
    // the whole grant.
    rotateRefreshToken: config.rotateRefreshToken ?? true,
    async findAccount(ctx, sub) {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        async claims() {
          return { sub, email: account.email, email_verified: Boolean(account.email) };
        },
      };
    },
    interactions: {
      url(ctx, interaction) {
        return `/interaction/${interaction.uid}`;
      },
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      deviceFlow: { enabled: true },
      introspection: { enabled: config.introspection ?? true },
      revocation: { enabled: true },
      // oidc-provider 9 has resource indicators on by default. Without a `resource` parameter
      // client_credentials and device-flow tokens are opaque and introspectable; a test that
      // wants a resource server can pass one in config.resourceServers (url -> info).
      resourceIndicators: {
        enabled: true,
        async getResourceServerInfo(ctx, resourceIndicator) {
          const info = config.resourceServers?.[resourceIndicator];
          if (!info) throw new errors.InvalidTarget();
          return info;
        },
      },
    },
    async renderError(ctx, out, error) {
      debug('renderError', out, error?.stack ?? error);
      ctx.type = 'html';
      ctx.body = page('oops! something went wrong', `<pre id="error">${htmlEscape(JSON.stringify(out))}</pre>`);
    },
  };
}

function loginForm(uid, params, message) {
  return page('Sign-in', `
<p>Client: <code>${htmlEscape(params.client_id)}</code></p>
${message ? `<p class="error" id="message">${htmlEscape(message)}</p>` : ''}
<form id="login" method="post" action="/interaction/${htmlEscape(uid)}/login">
  <input type="text" name="username" autocomplete="username" autofocus>
  <input type="password" name="password" autocomplete="current-password">
  <button type="submit">Sign-in</button>
</form>
<form id="abort" method="post" action="/interaction/${htmlEscape(uid)}/abort"><button type="submit">Cancel</button></form>`);
}

function consentForm(uid, params, details) {
  const scopes = [...(details.missingOIDCScope ?? [])].join(' ');
  return page('Authorize', `
<p>Client <code>${htmlEscape(params.client_id)}</code> asks for: <code id="scopes">${htmlEscape(scopes)}</code></p>
<form id="consent" method="post" action="/interaction/${htmlEscape(uid)}/confirm">
  <button type="submit">Allow</button>
</form>
<form id="abort" method="post" action="/interaction/${htmlEscape(uid)}/abort"><button type="submit">Deny</button></form>`);
}

function interactionRoutes(provider, config) {
  const users = new Map((config.accounts ?? []).map((a) => [a.username ?? a.sub, a]));
  const route = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?$/;

  async function finish(ctx, result, mergeWithLastSubmission) {
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission });
    ctx.status = 303;
    ctx.redirect(returnTo);
  }

  return async function interactions(ctx, next) {
    const match = route.exec(ctx.path);
    if (!match) return next();
    ctx.set('Cache-Control', 'no-store');
    const [, uid, action] = match;
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== uid) ctx.throw(400, 'interaction mismatch');
    const { prompt, params } = details;
    debug('interaction', uid, ctx.method, action ?? 'show', prompt.name);

    if (ctx.method === 'GET' && !action) {
      ctx.type = 'html';
      if (prompt.name === 'login') ctx.body = loginForm(uid, params);
      else if (prompt.name === 'consent') ctx.body = consentForm(uid, params, prompt.details);
      else ctx.throw(501, `prompt ${prompt.name} not implemented`);
      return undefined;
    }
    if (ctx.method !== 'POST' || !action) ctx.throw(405);

    if (action === 'abort') {
      return finish(ctx, { error: 'access_denied', error_description: 'End-User aborted interaction' }, false);
    }
    if (action === 'login') {
      if (prompt.name !== 'login') ctx.throw(400, 'not a login prompt');
      const form = await readForm(ctx.req);
      const user = users.get(form.get('username') ?? '');
      const password = Buffer.from(form.get('password') ?? '');
      const expected = Buffer.from(user?.password ?? '');
      if (!user || password.length !== expected.length || !crypto.timingSafeEqual(password, expected)) {
        ctx.status = 401;
        ctx.type = 'html';
        ctx.body = loginForm(uid, params, 'Invalid username or password.');
        return undefined;
      }
      return finish(ctx, { login: { accountId: user.sub } }, false);
    }
    // action === 'confirm'
    if (prompt.name !== 'consent') ctx.throw(400, 'not a consent prompt');
    const { grantId, session } = details;
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scope] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scope.join(' '));
    }
    return finish(ctx, { consent: { grantId: await grant.save() } }, true);
  };
}

// RFC 8693 token exchange. oidc-provider 9 has no token-exchange feature of its own; its documented
// extension point for grants is registerGrantType(). oidc-provider still authenticates the client
// (any of its token endpoint auth methods), parses and limits the parameters and writes the
// answer; this handler only decides on the subject token, which must be an access token this
// provider issued (looked up in oidc-provider's own token store, expiry included).
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

function registerTokenExchange(provider, config) {
  const exchangedTtl = config.tokenExchange?.exchangedTtl;
  async function tokenExchange(ctx) {
    const { params, client } = ctx.oidc;
    if (!params.subject_token) throw new errors.InvalidRequest('missing required parameter subject_token');
    if ((params.subject_token_type ?? ACCESS_TOKEN_TYPE) !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest('unsupported subject_token_type');
    }
    if (params.requested_token_type && params.requested_token_type !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest('unsupported requested_token_type');
    }
    const subject = (await provider.ClientCredentials.find(params.subject_token))
      ?? (await provider.AccessToken.find(params.subject_token));
    if (!subject || subject.isExpired) throw new errors.InvalidGrant('subject token is invalid or expired');
    if (params.audience && !(await provider.Client.find(params.audience))) {
      throw new errors.InvalidTarget('audience is not a registered client');
    }
    const held = new Set((subject.scope ?? '').split(' ').filter(Boolean));
    const wanted = (params.scope ?? '').split(' ').filter(Boolean);
    if (wanted.some((scope) => !held.has(scope))) throw new errors.InvalidScope('scope exceeds the subject token', params.scope);
    const token = new provider.ClientCredentials({
      client,
      scope: (wanted.length ? wanted : [...held]).join(' ') || undefined,
      ...(exchangedTtl ? { expiresIn: exchangedTtl } : {}),
    });
    token.extra = { act_for: subject.clientId, aud: params.audience };
    const value = await token.save();
    ctx.body = {
      access_token: value,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: token.expiration,
      ...(token.scope ? { scope: token.scope } : {}),
    };
  }
  provider.registerGrantType(
    TOKEN_EXCHANGE,
    tokenExchange,
    ['subject_token', 'subject_token_type', 'audience', 'resource', 'requested_token_type', 'scope'],
  );
}

function writeReady(file, data) {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(data));
  fs.renameSync(tmp, file);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const config = JSON.parse(fs.readFileSync(args.config, 'utf8'));
  const port = choosePort(args, config);

  // Bind first: with port 0 the issuer (which names the port) is known only once listening.
  const server = http.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const chosen = server.address().port;
  const issuer = `http://127.0.0.1:${chosen}`;

  const provider = new Provider(issuer, buildConfiguration(config));
  if (config.tokenExchange) registerTokenExchange(provider, config);
  provider.use(interactionRoutes(provider, config));
  for (const event of ['server_error', 'grant.error', 'introspection.error', 'device_authorization.error']) {
    provider.on(event, (ctx, error) => debug(event, error?.message, error?.error_description ?? ''));
  }
  server.on('request', provider.callback());

  let stopping = false;
  const stop = (why) => {
    if (stopping) return;
    stopping = true;
    debug('stopping:', why);
    server.close(() => process.exit(0));
    server.closeAllConnections?.();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (args.exitOnStdinClose) {
    process.stdin.on('end', () => stop('stdin closed'));
    process.stdin.on('error', () => stop('stdin error'));
    process.stdin.resume();
  }

  const ready = { port: chosen, pid: process.pid, issuer };
  if (args.readyFile) writeReady(args.readyFile, ready);
  process.stdout.write(`READY ${JSON.stringify(ready)}\n`);
}

main().catch((error) => {
  console.error(error?.stack ?? String(error));
  process.exit(1);
});
