// A real OpenID Connect provider for the console's tests: the certified `oidc-provider`
// package, configured as ProConnect is documented (../../../shared reference: proconnect.md):
// the authorization-code flow with a client secret sent in the body, signed ID tokens and
// signed userinfo (RS256), the `siret`, `given_name`, `usual_name`, `organization_label` claims,
// a 30-second code and a 60-second access token. Its development sign-in form takes any login:
// the login typed is the agent's e-mail, and the SIRET is the one given below.
//
// Environment: REDIRECT_URI (the console's callback), CLIENT_ID, CLIENT_SECRET, SIRET. Prints
// `{"issuer": …}` on one line once it listens on a free loopback port, then serves until killed.

import { createServer } from "node:http";
import Provider from "oidc-provider";

const need = (name) => {
  const value = process.env[name];
  if (!value) {
    throw new Error(`the environment variable ${name} is not set`);
  }
  return value;
};

const server = createServer();
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: need("CLIENT_ID"),
      client_secret: need("CLIENT_SECRET"),
      redirect_uris: [need("REDIRECT_URI")],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
      id_token_signed_response_alg: "RS256",
      userinfo_signed_response_alg: "RS256",
    },
  ],
  scopes: ["openid", "email", "given_name", "usual_name", "siret", "organization_label"],
  claims: {
    email: ["email"],
    given_name: ["given_name"],
    usual_name: ["usual_name"],
    siret: ["siret"],
    organization_label: ["organization_label"],
  },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: id,
          given_name: "Jean",
          usual_name: "Dupont",
          siret: need("SIRET"),
          organization_label: "Mairie de Bras",
        };
      },
    };
  },
  features: {
    devInteractions: { enabled: true },
    claimsParameter: { enabled: true },
    userinfo: { enabled: true },
    jwtUserinfo: { enabled: true },
  },
  pkce: { required: () => false },
  ttl: { AuthorizationCode: 30, AccessToken: 60, IdToken: 3600, Interaction: 600, Session: 43200, Grant: 43200 },
  // The tests run over plain http on loopback.
  cookies: { keys: ["tocsin tests only"] },
});
provider.proxy = false;
server.on("request", provider.callback());
process.stdout.write(`${JSON.stringify({ issuer })}\n`);
