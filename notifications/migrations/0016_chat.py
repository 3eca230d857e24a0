import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def copy_members(apps, schema_editor):
    """The members of each room become memberships (a room's members had no table of their own
    beyond the plain many-to-many one)."""
    Room = apps.get_model("notifications", "Room")
    Membership = apps.get_model("notifications", "Membership")
    through = Room.members.through
    rows = through.objects.using(schema_editor.connection.alias).values_list("room_id", "user_id")
    Membership.objects.using(schema_editor.connection.alias).bulk_create(
        [Membership(room_id=room, user_id=user) for room, user in rows.iterator()],
        batch_size=1000,
    )


def copy_memberships(apps, schema_editor):
    Room = apps.get_model("notifications", "Room")
    Membership = apps.get_model("notifications", "Membership")
    through = Room.members.through
    rows = Membership.objects.using(schema_editor.connection.alias).values_list("room_id", "user_id")
    through.objects.using(schema_editor.connection.alias).bulk_create(
        [through(room_id=room, user_id=user) for room, user in rows.iterator()],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0015_broadcasts"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="room",
            name="kind",
            field=models.CharField(
                choices=[("room", "room"), ("direct", "direct conversation")],
                default="room",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="room",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.CreateModel(
            name="Membership",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "role",
                    models.CharField(
                        choices=[
                            ("member", "member"),
                            ("moderator", "moderator"),
                            ("owner", "owner"),
                        ],
                        default="member",
                        max_length=10,
                    ),
                ),
                ("joined_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("read_seq", models.BigIntegerField(default=0)),
                (
                    "room",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="memberships",
                        to="notifications.room",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="live_memberships",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("room", "user"), name="notifications_membership_once"
                    )
                ],
            },
        ),
        migrations.RunPython(copy_members, copy_memberships),
        migrations.RemoveField(model_name="room", name="members"),
        migrations.AddField(
            model_name="room",
            name="members",
            field=models.ManyToManyField(
                blank=True,
                related_name="live_rooms",
                through="notifications.Membership",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.CreateModel(
            name="Message",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("body", models.TextField()),
                ("seq", models.BigIntegerField(blank=True, null=True)),
                ("client_id", models.CharField(blank=True, default="", max_length=100)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("edited_at", models.DateTimeField(blank=True, null=True)),
                ("deleted", models.BooleanField(default=False)),
                (
                    "author",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="live_messages",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "room",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="messages",
                        to="notifications.room",
                    ),
                ),
            ],
            options={
                "ordering": ["room", "seq"],
                "indexes": [
                    models.Index(fields=["room", "seq"], name="notifications_message_seq")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("client_id", ""), _negated=True),
                        fields=("author", "client_id"),
                        name="notifications_message_client_id",
                    )
                ],
            },
        ),
    ]
