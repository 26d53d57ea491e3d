// A real OpenID provider on loopback for the tests, configured like GOV.UK One Login:
// Authorization Code only, the token endpoint authenticated with private_key_jwt only, `nonce` required,
// the `vtr` request parameter accepted (a JSON list such as ["Cl.Cm"]) and a `vot` claim in the ID token,
// `email` from the userinfo endpoint, `sub` an opaque pairwise-looking id, RP-initiated logout.
//
// Usage: node provider.mjs CONFIG.json   (CONFIG: {"port" (0: any free one), "client_id", "redirect_uris", "post_logout_redirect_uris",
// "client_jwks": {"keys": [<the site's public JWK>]}}) and prints one
// JSON line, {"issuer": "http://127.0.0.1:<port>"}, once it answers. It listens on 127.0.0.1 only.
//
// Test-only switches (loopback only, never part of a real provider), under /__test/:
//   POST /__test/next-id-token {"iss", "aud", "exp_in", "nonce", "vot", "omit_vot"}: the next ID token carries
//        these values instead (re-signed with the provider's key, so only the claims are wrong);
//   POST /__test/rename {"from", "to"}: the account with e-mail `from` now has e-mail `to` (same `sub`);
//   GET  /__test/seen: the last authorization request's parameters and the token requests' client auth.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

import Provider from 'oidc-provider';
import { SignJWT, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK } from 'jose';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await exportJWK(privateKey)), kid: 'test-signing-key', alg: 'RS256', use: 'sig' };
const signingKey = await importJWK(signingJwk, 'RS256');

const accounts = new Map(); // sub -> e-mail
const subFor = (email) => {
  for (const [sub, known] of accounts) if (known === email) return sub;
  const sub = 'urn:fdc:gov.uk:2022:' + createHash('sha256').update(email).digest('base64url').slice(0, 43);
  accounts.set(sub, email);
  return sub;
};

let nextIdToken = null; // overrides for the next ID token only
const seen = { authorization: null, token_auth: [] };
const vtrByNonce = new Map();

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>` +
  `<body><main><h1>${title}</h1>${body}</main></body></html>`;

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; if (data.length > 1e5) req.destroy(); });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

// the credential part of a vtr entry ("P2.Cl.Cm" -> "Cl.Cm"), as One Login reports it in `vot`
const credentialOf = (vector) => vector.split('.').filter((part) => part.startsWith('C')).join('.');

const server = http.createServer();
server.listen(config.port || 0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: config.client_id,
      redirect_uris: config.redirect_uris,
      post_logout_redirect_uris: config.post_logout_redirect_uris || [],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'RS256',
      jwks: config.client_jwks,
      grant_types: ['authorization_code'],
      response_types: ['code'],
    }],
    clientAuthMethods: ['private_key_jwt'],
    jwks: { keys: [signingJwk] },
    scopes: ['openid', 'email'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    extraParams: ['vtr'],
    responseTypes: ['code'],
    pkce: { required: () => false },
    cookies: { keys: ['test-only-cookie-key-not-a-secret'] },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        // One Login signs out without asking: the confirmation form submits itself
        logoutSource: async (ctx, form) => {
          ctx.body = page('Signing you out of the test provider',
            `${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>` +
            '<script>document.getElementById("op.logoutForm").requestSubmit(document.querySelector("button[name=logout]"))</script>');
        },
      },
    },
    findAccount: async (ctx, sub) => (accounts.has(sub) ? {
      accountId: sub,
      claims: async () => ({ sub, email: accounts.get(sub), email_verified: true }),
    } : undefined),
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Sign-in error at the test provider', `<p>${escapeHtml(out.error)}: ${escapeHtml(out.error_description || '')}</p>`);
    },
  });
  provider.proxy = false;

  provider.use(async (ctx, next) => {
    if (ctx.path === '/auth' && ctx.method === 'GET') {
      const { nonce, vtr } = ctx.query;
      seen.authorization = { ...ctx.query };
      let vectors = ['Cl.Cm'];
      try {
        if (vtr !== undefined) vectors = JSON.parse(vtr);
      } catch {
        vectors = null;
      }
      if (!nonce || !Array.isArray(vectors) || !vectors.every((v) => /^(P[0-2]\.)?Cl(\.Cm)?$/.test(v))) {
        ctx.status = 400;
        ctx.type = 'html';
        ctx.body = page('Bad authorization request', '<p>invalid_request: a nonce and a valid vtr are required</p>');
        return;
      }
      vtrByNonce.set(nonce, vectors);
    }
    await next();
    if (ctx.path === '/token' && ctx.method === 'POST') {
      seen.token_auth.push(ctx.oidc?.client?.clientAuthMethod ?? 'refused');
    }
    if (ctx.path === '/token' && ctx.body && ctx.body.id_token) {
      const claims = decodeJwt(ctx.body.id_token);
      const header = decodeProtectedHeader(ctx.body.id_token);
      const vectors = vtrByNonce.get(claims.nonce) || ['Cl.Cm'];
      claims.vot = credentialOf(vectors[0]);
      claims.vtm = `${issuer}/trustmark`;
      const change = nextIdToken || {};
      nextIdToken = null;
      if (change.iss !== undefined) claims.iss = change.iss;
      if (change.aud !== undefined) claims.aud = change.aud;
      if (change.nonce !== undefined) claims.nonce = change.nonce;
      if (change.vot !== undefined) claims.vot = change.vot;
      if (change.omit_vot) delete claims.vot;
      if (change.exp_in !== undefined) {
        claims.exp = Math.floor(Date.now() / 1000) + change.exp_in;
        claims.iat = Math.min(claims.iat, claims.exp - 60);
      }
      ctx.body = { ...ctx.body, id_token: await new SignJWT(claims).setProtectedHeader(header).sign(signingKey) };
    }
  });

  const callback = provider.callback();

  async function interaction(req, res, url) {
    const [, , uid, action] = url.pathname.split('/');
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error('interaction mismatch');
    if (req.method === 'GET') {
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.end(page('Sign in to the test provider',
        `<form method="post" action="/interaction/${uid}/login">` +
        '<label for="email">Email address</label> <input id="email" name="email" type="email" autocomplete="email" required>' +
        '<button type="submit">Continue</button></form>' +
        `<form method="post" action="/interaction/${uid}/abort"><button type="submit">Cancel</button></form>`));
      return;
    }
    const form = new URLSearchParams(await readBody(req));
    let result;
    if (action === 'login') {
      const accountId = subFor(form.get('email') || '');
      const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
      grant.addOIDCScope(details.params.scope);
      result = { login: { accountId }, consent: { grantId: await grant.save() } };
    } else {
      result = { error: 'access_denied', error_description: 'The person cancelled the sign-in.' };
    }
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }

  async function testSwitch(req, res, url) {
    res.setHeader('Content-Type', 'application/json');
    if (req.method === 'GET' && url.pathname === '/__test/seen') {
      res.end(JSON.stringify(seen));
      return;
    }
    const body = JSON.parse((await readBody(req)) || '{}');
    if (url.pathname === '/__test/next-id-token') {
      nextIdToken = body;
    } else if (url.pathname === '/__test/rename') {
      const sub = subFor(body.from);
      accounts.set(sub, body.to);
    } else {
      res.statusCode = 404;
    }
    res.end('{}');
  }

  server.on('request', (req, res) => {
    const url = new URL(req.url, issuer);
    const handler = url.pathname.startsWith('/interaction/') ? interaction
      : url.pathname.startsWith('/__test/') ? testSwitch : null;
    if (!handler) {
      callback(req, res);
      return;
    }
    handler(req, res, url).catch((err) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });
  process.stdout.write(JSON.stringify({ issuer }) + '\n');
});
