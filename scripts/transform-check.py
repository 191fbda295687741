"""What SAM makes of template.yaml: the deploy wiring that only exists after the transform.

Run with the SAM CLI's Python (scripts/test.sh step 1: .local/venv/bin/python). It transforms
template.yaml offline with SAM's own translator (samtranslator, which `sam deploy` runs in
CloudFormation as AWS::Serverless-2016-10-31), once per samconfig.toml profile (dev, prod) with
that profile's parameter_overrides, and checks that:
  - the template's Rules come out of the transform unchanged (CloudFormation evaluates them on
    the processed template), and that they let the dev profile deploy and refuse the prod one
    exactly when it names no AlarmTopicArn, and refuse an existing events table without its
    stream's ARN or a stream's ARN without the table (evaluated here with the profile's values; this is a
    model of CloudFormation's rule functions, Fn::Equals / Fn::Not / Fn::And / Fn::Or / Ref, not
    CloudFormation itself);
  - the HTTP API route's integration and its invoke permission target the `live` alias, not the
    function's unqualified ARN (so CodeDeploy's traffic shifting reaches the route);
  - the session authorizer's invoke permission is only the template's own, which exists when
    AuthorizerInvokePermission is `stack` (SAM adds none of its own);
  - the CodeDeploy deployment group uses the chosen configuration, rolls back on alarms, and
    watches the errors and 5xx-rate alarms;
  - no resource depends on itself through Ref, GetAtt, Sub, DependsOn or an UpdatePolicy
    (CloudFormation refuses such a stack; cfn-lint skips cycles through SAM resources, and the
    alias's UpdatePolicy names the deployment group, which names its alarms);
  - the $default stage has the access log settings and the route throttling;
  - each function's role is the template's inline policy plus SAM's two managed policies
    (basic execution logs and X-Ray), and nothing else (no AWSLambdaDynamoDBExecutionRole,
    which reads every stream of the account: the indexer's mapping is a raw resource).
tests/api/template.rs checks the template as written; this checks what SAM turns it into.
"""

import logging
import os
import re
import sys
import tomllib

os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")  # the translator wants a region; no call is made

from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402

logging.getLogger("samtranslator").setLevel(logging.ERROR)  # feature-toggle and metrics chatter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class NoManagedPolicies:
    """The template names no managed policy by name, so the loader is never asked."""

    def load(self):
        return {}


def source_template():
    with open(os.path.join(ROOT, "template.yaml")) as f:
        return yaml_parse(f.read())


def profile_parameters(profile):
    """The `Name=value` parameter_overrides of a samconfig.toml profile, as a dict."""
    with open(os.path.join(ROOT, "samconfig.toml"), "rb") as f:
        overrides = tomllib.load(f)[profile]["deploy"]["parameters"]["parameter_overrides"]
    return dict(override.split("=", 1) for override in overrides)


def transformed(parameters):
    template = source_template()
    # `sam deploy` uploads the code and puts its S3 location here; the translator wants one.
    for function in ("TrackingStatusFunction", "TestEventIndexerFunction"):
        template["Resources"][function]["Properties"]["CodeUri"] = "s3://bucket/code.zip"
    return transform(template, parameters, NoManagedPolicies())


def rule_value(expression, parameters, declared):
    """A rule condition or assertion, evaluated with these parameter values (or the defaults)."""
    if isinstance(expression, str):
        return expression
    (function, argument), = expression.items()
    if function == "Ref":
        if argument in parameters:
            return parameters[argument]
        check("Default" in declared.get(argument, {}), f"a rule reads {argument}, which has no value")
        return str(declared[argument]["Default"])
    values = [rule_value(a, parameters, declared) for a in argument]
    if function == "Fn::Equals":
        return values[0] == values[1]
    if function == "Fn::Not":
        return not values[0]
    if function == "Fn::And":
        return all(values)
    if function == "Fn::Or":
        return any(values)
    sys.exit(f"transform-check: a rule uses {function}, which this check does not evaluate")


def refused_by(template, parameters):
    """The names of the rules whose condition holds and one of whose assertions fails."""
    declared = template["Parameters"]
    refused = []
    for name, rule in template.get("Rules", {}).items():
        if "RuleCondition" in rule and not rule_value(rule["RuleCondition"], parameters, declared):
            continue
        if not all(rule_value(a["Assert"], parameters, declared) for a in rule["Assertions"]):
            refused.append(name)
    return refused


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


TOPIC = "arn:aws:sns:eu-west-1:123456789012:alarms"
STREAM = "arn:aws:dynamodb:eu-west-1:123456789012:table/events/stream/2026-01-01T00:00:00.000"
for profile in ("default", "prod"):
    parameters = profile_parameters(profile)
    environment = parameters.get("Environment")
    check(environment == ("prod" if profile == "prod" else "dev"), f"{profile}: Environment={environment}")
    output = transformed(parameters)
    source = source_template()
    check(output.get("Rules") == source.get("Rules"), f"{profile}: SAM's transform changed or dropped Rules")
    check(
        list(source.get("Rules", {}))
        == ["ProdPagesSomeone", "EventsStreamMatchesEventsTable", "ApiDomainNeedsItsCertificate"],
        f"rules: {list(source.get('Rules', {}))}",
    )
    # As the profile is, then with an empty and with a given topic: only prod without one is refused.
    for topic in (parameters.get("AlarmTopicArn"), "", TOPIC):
        values = dict(parameters) if topic is None else {**parameters, "AlarmTopicArn": topic}
        refused = refused_by(source, values)
        expected = ["ProdPagesSomeone"] if environment == "prod" and not values.get("AlarmTopicArn") else []
        check(refused == expected, f"{profile} with AlarmTopicArn={topic!r}: refused by {refused}, expected {expected}")
    # The events table and its stream's ARN: both given or neither, whatever the profile says.
    with_topic = {**parameters, "AlarmTopicArn": TOPIC}
    for table, stream in (("", ""), ("events", STREAM), ("events", ""), ("", STREAM)):
        values = {**with_topic, "ExistingEventsTable": table, "ExistingEventsStreamArn": stream}
        expected = [] if bool(table) == bool(stream) else ["EventsStreamMatchesEventsTable"]
        refused = refused_by(source, values)
        check(refused == expected, f"table {table!r}, stream {stream!r}: refused by {refused}, expected {expected}")
    # The custom domain: its certificate with it or neither; a hosted zone only with a domain.
    CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/abc"
    for domain, certificate, zone, fine in (
        ("", "", "", True), ("api.example.com", CERTIFICATE, "", True),
        ("api.example.com", CERTIFICATE, "Z123ABC", True), ("api.example.com", "", "", False),
        ("", CERTIFICATE, "", False), ("", "", "Z123ABC", False),
    ):
        values = {**with_topic, "ApiDomainName": domain, "ApiCertificateArn": certificate, "ApiHostedZoneId": zone}
        refused = refused_by(source, values)
        expected = [] if fine else ["ApiDomainNeedsItsCertificate"]
        check(refused == expected, f"domain {domain!r}, certificate {certificate!r}, zone {zone!r}: refused by {refused}")
    as_shipped = "refused until AlarmTopicArn is set" if refused_by(source, parameters) else "deploys"
    print(f"transform-check: {profile} profile (Environment={environment}): {as_shipped}")

    deployment_type = parameters["DeploymentType"]
    resources = output["Resources"]
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

    # The authorizer's invoke permission is the template's own, conditional one
    # (AuthorizerInvokePermission): SAM adds none (EnableFunctionDefaultPermissions: false).
    authorizer_permissions = {
        name: p
        for name, p in of_type(resources, "AWS::Lambda::Permission").items()
        if p["Properties"]["FunctionName"] == {"Ref": "SessionAuthorizerFunctionArn"}
    }
    check(
        list(authorizer_permissions) == ["SessionAuthorizerInvokePermission"]
        and authorizer_permissions["SessionAuthorizerInvokePermission"].get("Condition")
        == "StackAddsAuthorizerPermission",
        f"the authorizer's invoke permissions are not the template's conditional one: {authorizer_permissions}",
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

    # The custom domain's mapping (created only with ApiDomainName) maps that one stage.
    mapping = resources["ApiDomainMapping"]
    check(mapping.get("Condition") == "HasApiDomain", "the domain mapping is not conditional on HasApiDomain")
    check(
        mapping["Properties"]["Stage"] == {"Ref": next(iter(stages))},
        f"the domain maps {mapping['Properties']['Stage']}, not the stage {next(iter(stages))}",
    )

    for function in ("TrackingStatusFunction", "TestEventIndexerFunction"):
        role = resources[f"{function}Role"]["Properties"]
        check(
            sorted(role["ManagedPolicyArns"])
            == [
                "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
                "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
            ],
            f"{function}'s role has {role['ManagedPolicyArns']}",
        )
        check(len(role["Policies"]) == 1, f"{function}'s role has more than the template's inline policy")
    # CodeDeploy's role is SAM's own, assumed by CodeDeploy only, with AWS's managed policy for it.
    codedeploy = resources["CodeDeployServiceRole"]["Properties"]
    principals = [s["Principal"] for s in codedeploy["AssumeRolePolicyDocument"]["Statement"]]
    check(principals == [{"Service": ["codedeploy.amazonaws.com"]}], f"CodeDeploy's role: {principals}")
    roles = of_type(resources, "AWS::IAM::Role")
    check(
        sorted(roles) == ["CodeDeployServiceRole", "TestEventIndexerFunctionRole", "TrackingStatusFunctionRole"],
        f"roles: {sorted(roles)}",
    )

    print(f"transform-check: DeploymentType={deployment_type}: the route invokes the live alias; "
          f"CodeDeploy ({config[1]['ConfigName']}) rolls back on {len(alarms)} alarms")
