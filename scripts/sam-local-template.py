"""A copy of a built SAM template that `sam local invoke --env-vars` can point at DynamoDB Local.

    .local/venv/bin/python scripts/sam-local-template.py BUILT_TEMPLATE COPY

SAM's --env-vars only sets the variables a template declares, and template.yaml does not declare
AWS_ENDPOINT_URL_DYNAMODB (docs/development.md, "Why a copy of the built template"). This writes COPY: the
built template with that variable declared (empty) and each function's CodeUri made absolute (the
same built artifact), then reads COPY back, undoes those two changes and fails unless what is
left equals the built template. scripts/sam-local.sh runs it.

Run with the SAM CLI's Python (.local/venv, pinned in scripts/lib.sh): it reads and writes YAML
with SAM's own functions (samcli.yamlhelper), so the copy is compared as SAM reads it.
"""

import copy
import os
import sys

from samcli.yamlhelper import yaml_dump, yaml_parse

# The functions whose container must reach DynamoDB Local; those the built template has.
FUNCTIONS = ("TrackingStatusFunction", "TestEventIndexerFunction")
VARIABLE = "AWS_ENDPOINT_URL_DYNAMODB"


def main(args):
    if len(args) != 2:
        print("usage: scripts/sam-local-template.py BUILT_TEMPLATE COPY", file=sys.stderr)
        return 2
    source, target = args
    with open(source) as f:
        built = yaml_parse(f.read())
    base = os.path.dirname(os.path.abspath(source))
    functions = [name for name in FUNCTIONS if name in built["Resources"]]
    local = copy.deepcopy(built)
    for name in functions:
        function = local["Resources"][name]["Properties"]
        function["CodeUri"] = os.path.join(base, function["CodeUri"])
        function["Environment"]["Variables"][VARIABLE] = ""
    with open(target, "w") as f:
        f.write(yaml_dump(local))

    # Read the copy back and undo the two changes: what is left must be the built template.
    with open(target) as f:
        back = yaml_parse(f.read())
    for name in functions:
        function = back["Resources"][name]["Properties"]
        built_code = os.path.join(base, built["Resources"][name]["Properties"]["CodeUri"])
        if os.path.realpath(function["CodeUri"]) != os.path.realpath(built_code):
            print(f"{name}: the copy's CodeUri {function['CodeUri']} is not the built artifact {built_code}", file=sys.stderr)
            return 1
        function["CodeUri"] = built["Resources"][name]["Properties"]["CodeUri"]
        del function["Environment"]["Variables"][VARIABLE]
    if back != built:
        print(f"{target} differs from {source} beyond {VARIABLE} and CodeUri", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
