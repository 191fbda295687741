"""What SAM makes of template.yaml: the deploy wiring that only exists after the transform.

Run with the SAM CLI's Python (scripts/test.sh step 1: .local/venv/bin/python). It transforms
template.yaml offline with SAM's own translator (samtranslator, which `sam deploy` runs in
CloudFormation as AWS::Serverless-2016-10-31), once per DeploymentType that samconfig.toml uses,
and checks that:
  - the HTTP API route's integration and its invoke permission target the `live` alias, not the
    function's unqualified ARN (so CodeDeploy's traffic shifting reaches the route);
  - the CodeDeploy deployment group uses the chosen configuration, rolls back on alarms, and
    watches the errors and 5xx-rate alarms;
  - no resource depends on itself through Ref, GetAtt, Sub, DependsOn or an UpdatePolicy
    (CloudFormation refuses such a stack; cfn-lint skips cycles through SAM resources, and the
    alias's UpdatePolicy names the deployment group, which names its alarms);
  - the $default stage has the access log settings and the route throttling;
  - the function's role is the template's inline policy plus SAM's two managed policies
    (basic execution logs and X-Ray), and nothing else.
tests/api/template.rs checks the template as written; this checks what SAM turns it into.
"""

import logging
import os
import re
import sys

os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")  # the translator wants a region; no call is made

from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402

logging.getLogger("samtranslator").setLevel(logging.ERROR)  # feature-toggle and metrics chatter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class NoManagedPolicies:
    """The template names no managed policy by name, so the loader is never asked."""

    def load(self):
        return {}


def transformed(deployment_type):
    with open(os.path.join(ROOT, "template.yaml")) as f:
        template = yaml_parse(f.read())
    # `sam deploy` uploads the code and puts its S3 location here; the translator wants one.
    template["Resources"]["TrackingStatusFunction"]["Properties"]["CodeUri"] = "s3://bucket/code.zip"
    parameters = {
        "SessionAuthorizerFunctionArn": "arn:aws:lambda:eu-west-1:123456789012:function:authorizer",
        "DeploymentType": deployment_type,
    }
    return transform(template, parameters, NoManagedPolicies())["Resources"]


def check(condition, message):
    if not condition:
        sys.exit(f"transform-check: {message}")


def references(value, names):
    """The resources `value` names through Ref, Fn::GetAtt or a ${...} in Fn::Sub."""
    found = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str) and inner in names:
                found.add(inner)
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else inner.split(".")[0]
                if target in names:
                    found.add(target)
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                for name in re.findall(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z]+)?\}", text):
                    if name in names:
                        found.add(name)
                if isinstance(inner, list):
                    found |= references(inner[1], names)
            else:
                found |= references(inner, names)
    elif isinstance(value, list):
        for inner in value:
            found |= references(inner, names)
    return found


def dependency_cycle(resources):
    """A list of resources that depend on each other in a loop, or None."""
    names = set(resources)
    edges = {}
    for name, resource in resources.items():
        depends = resource.get("DependsOn", [])
        depends = [depends] if isinstance(depends, str) else depends
        edges[name] = (
            references(resource.get("Properties", {}), names)
            | references(resource.get("UpdatePolicy", {}), names)
            | set(depends)
        )
    state = {}

    def visit(name, path):
        state[name] = "visiting"
        for target in sorted(edges[name]):
            if state.get(target) == "visiting":
                return path + [name, target]
            if target not in state:
                found = visit(target, path + [name])
                if found:
                    return found
        state[name] = "done"
        return None

    for name in sorted(names):
        if name not in state:
            found = visit(name, [])
            if found:
                return found
    return None


def of_type(resources, kind):
    return {name: r for name, r in resources.items() if r["Type"] == kind}


for deployment_type in ("AllAtOnce", "Canary10Percent5Minutes"):
    resources = transformed(deployment_type)
    aliases = of_type(resources, "AWS::Lambda::Alias")
    check(list(aliases) == ["TrackingStatusFunctionAliaslive"], f"aliases: {list(aliases)}")
    alias = aliases["TrackingStatusFunctionAliaslive"]
    check(alias["Properties"]["Name"] == "live", "the alias is not named live")
    check(
        alias["Properties"]["FunctionName"] == {"Ref": "TrackingStatusFunction"},
        "the alias is not the function's",
    )
    check("CodeDeployLambdaAliasUpdate" in alias.get("UpdatePolicy", {}), "CodeDeploy does not move the alias")

    api = resources["DashboardHttpApi"]["Properties"]["Body"]
    route = api["paths"]["/api/tracking/status/{programId}"]["get"]
    uri = route["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
    check(
        uri.endswith("/functions/${TrackingStatusFunctionAliaslive}/invocations"),
        f"the route does not invoke the alias: {uri}",
    )
    permissions = [
        p["Properties"]
        for p in of_type(resources, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
        and p["Properties"]["FunctionName"] != {"Ref": "SessionAuthorizerFunctionArn"}
    ]
    check(
        [p["FunctionName"] for p in permissions] == [{"Ref": "TrackingStatusFunctionAliaslive"}],
        f"API Gateway's invoke permission is not (only) on the alias: {permissions}",
    )

    groups = of_type(resources, "AWS::CodeDeploy::DeploymentGroup")
    check(list(groups) == ["TrackingStatusFunctionDeploymentGroup"], f"deployment groups: {list(groups)}")
    group = groups["TrackingStatusFunctionDeploymentGroup"]["Properties"]
    config = group["DeploymentConfigName"]["Fn::Sub"]
    check(
        config == ["CodeDeployDefault.Lambda${ConfigName}", {"ConfigName": deployment_type}],
        f"DeploymentType={deployment_type} gave {config}",
    )
    check(group["AutoRollbackConfiguration"]["Enabled"], "no automatic rollback")
    check(
        "DEPLOYMENT_STOP_ON_ALARM" in group["AutoRollbackConfiguration"]["Events"],
        "an alarm does not roll back",
    )
    alarms = [a["Name"] for a in group["AlarmConfiguration"]["Alarms"]]
    check(
        alarms == [{"Ref": "FunctionErrorsAlarm"}, {"Ref": "Function5xxRateAlarm"}],
        f"CodeDeploy watches {alarms}",
    )
    cycle = dependency_cycle(resources)
    check(cycle is None, f"a dependency loop: {' -> '.join(cycle or [])}")

    stages = of_type(resources, "AWS::ApiGatewayV2::Stage")
    check(len(stages) == 1, f"stages: {list(stages)}")
    stage = next(iter(stages.values()))["Properties"]
    check(stage["StageName"] == "$default", "not the $default stage")
    check(
        stage["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]},
        "the stage does not log to ApiAccessLogGroup",
    )
    check(
        stage["DefaultRouteSettings"]
        == {
            "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
            "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
        },
        f"route throttling: {stage.get('DefaultRouteSettings')}",
    )

    role = resources["TrackingStatusFunctionRole"]["Properties"]
    check(
        sorted(role["ManagedPolicyArns"])
        == [
            "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
            "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        ],
        f"the function's role has {role['ManagedPolicyArns']}",
    )
    check(len(role["Policies"]) == 1, "the function's role has more than the template's inline policy")
    # CodeDeploy's role is SAM's own, assumed by CodeDeploy only, with AWS's managed policy for it.
    codedeploy = resources["CodeDeployServiceRole"]["Properties"]
    principals = [s["Principal"] for s in codedeploy["AssumeRolePolicyDocument"]["Statement"]]
    check(principals == [{"Service": ["codedeploy.amazonaws.com"]}], f"CodeDeploy's role: {principals}")
    roles = of_type(resources, "AWS::IAM::Role")
    check(sorted(roles) == ["CodeDeployServiceRole", "TrackingStatusFunctionRole"], f"roles: {sorted(roles)}")

    print(f"transform-check: DeploymentType={deployment_type}: the route invokes the live alias; "
          f"CodeDeploy ({config[1]['ConfigName']}) rolls back on {len(alarms)} alarms")
