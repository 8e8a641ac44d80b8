// A local OpenID provider for the console's browser test: panva's oidc-provider (OpenID
// Certified, including RP-initiated logout; https://openid.net/certification/), configured
// as a company's IdP would be for an admin tool: authorization code only, PKCE required, a
// confidential client with client_secret_basic, a `groups` claim in the ID token, logout.
// Its built-in development login and consent pages take any login (it becomes `sub`) and
// any password; the accounts below say which groups each login has.
//
// node op.mjs --port P --redirect URL [--redirect URL...] --post-logout URL [...]
// Prints "OP ready <issuer>" when it listens.
import { parseArgs } from 'node:util';
import { Provider } from 'oidc-provider';

const { values: a } = parseArgs({
  options: {
    port: { type: 'string' },
    redirect: { type: 'string', multiple: true },
    'post-logout': { type: 'string', multiple: true },
    'client-id': { type: 'string', default: 'tableau-scim-console' },
    'client-secret': { type: 'string' },
  },
});

const ACCOUNTS = {
  alice: { name: 'Alice Viewer', groups: ['scim-viewers'] },
  olga: { name: 'Olga Operator', groups: ['scim-viewers', 'scim-operators'] },
  nobody: { name: 'No Groups', groups: [] },
};

// The host is localhost and the console 127.0.0.1: two sites, so their cookies stay apart
// (cookies ignore ports), as a real IdP and the console are.
const issuer = `http://localhost:${a.port}`;
const provider = new Provider(issuer, {
  clients: [{
    client_id: a['client-id'],
    client_secret: a['client-secret'],
    redirect_uris: a.redirect,
    post_logout_redirect_uris: a['post-logout'],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
  // The groups go in the ID token, as Okta's and Entra's groups claims do.
  conformIdTokenClaims: false,
  async findAccount(ctx, sub) {
    // The dev login takes any login; one not listed has no groups (undefined would be a 500).
    const acct = ACCOUNTS[sub] ?? { name: sub, groups: [] };
    return {
      accountId: sub,
      async claims() {
        return { sub, email: `${sub}@example.test`, email_verified: true, name: acct.name, groups: acct.groups };
      },
    };
  },
  cookies: { keys: ['op-test-cookie-key-not-a-secret'] },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
});

provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.listen(Number(a.port), '127.0.0.1', () => console.log(`OP ready ${issuer}`));
