from django.db import migrations

from orderguard.core.sql import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]
    operations = [append_only_trigger("incidents_incidentevent")]
