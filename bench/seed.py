"""Seed a SCIM server with N users and write "id userName" lines for the wrk mix.

Usage: seed.py BASE_URL TOKEN N OUT
"""
import json
import sys
import urllib.request

base, token, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
with open(out, "w") as f:
    for i in range(n):
        name = f"seed{i:05}@example.com"
        body = json.dumps({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
                           "name": {"givenName": "Seed", "familyName": str(i)},
                           "emails": [{"value": name, "primary": True}], "active": True}).encode()
        req = urllib.request.Request(base + "/Users", data=body, method="POST",
                                     headers={"Authorization": "Bearer " + token, "Content-Type": "application/scim+json"})
        with urllib.request.urlopen(req) as r:
            f.write(json.loads(r.read())["id"] + " " + name + "\n")
